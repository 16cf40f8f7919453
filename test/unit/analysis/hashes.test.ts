import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTOV3_HEADER_GUARD,
  HashCache,
  cachedModelHashes,
  componentHashes,
  fileHashes,
  matchHash,
  modelHashes,
  sharedComponents,
} from '../../../src/compute/analysis/hashes';
import { base, cast, dropComponent, layout, LAYOUT_DIR, materialize, renameKeys, renameNai, scaleShape, swapComponent } from '../../fixtures/synth';
import { encode } from '../../fixtures/safetensorsWriter';
import { writeTorchZip } from '../../fixtures/torchWriter';
import { componentFromLdm, writeComponent, writeModelIndex } from '../readers/diffusersFolder';
import { tmpRoot } from './helpers';

const root = tmpRoot('hashes');
after(() => root.cleanup());
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** deterministic pseudo-random bytes */
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** a safetensors file: 8-byte length, header JSON padded with spaces to `headerLength` (if given), data */
function safetensors(header: object, data: Uint8Array, headerLength?: number): Uint8Array {
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  if (headerLength !== undefined) h = Buffer.concat([h, Buffer.alloc(headerLength - h.length, 0x20)]);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('file hashes: known answers', () => {
  test('"hello world": SHA-256, AutoV2, legacy of a small file = hash of empty input, no AutoV3', async () => {
    const p = join(root.path, 'hello.bin');
    writeFileSync(p, 'hello world');
    const h = await fileHashes(p);
    assert.equal(h.sha256, 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
    assert.equal(h.autov2, 'B94D27B993');
    assert.equal(h.legacy, 'e3b0c442');
    assert.equal(h.legacy, EMPTY.slice(0, 8));
    assert.equal(h.legacyUnreliable, true);
    assert.equal(h.autov3, null);
    assert.equal(h.size, 11);
  });

  test('3 MiB file: SHA-256 of everything; legacy = SHA-256 of the 64 KiB at 0x100000, first 8 hex', async () => {
    const data = bytes(3 * 1024 * 1024 + 17, 5);
    const p = join(root.path, 'big.bin');
    writeFileSync(p, data);
    const h = await fileHashes(p);
    assert.equal(h.sha256, sha(data));
    assert.equal(h.legacy, sha(data.subarray(0x100000, 0x110000)).slice(0, 8));
    assert.equal(h.legacyUnreliable, false);
  });

  test('a file ending inside the legacy window: the bytes that exist are hashed (as A1111 does)', async () => {
    const data = bytes(0x100000 + 100, 6);
    const p = join(root.path, 'short.bin');
    writeFileSync(p, data);
    assert.equal((await fileHashes(p)).legacy, sha(data.subarray(0x100000)).slice(0, 8));
  });

  test('AutoV3 = SHA-256 of the data after the header; metadata edits change SHA-256, not AutoV3', async () => {
    const data = bytes(4096, 7);
    const t = { w: { dtype: 'F32', shape: [1024], data_offsets: [0, 4096] } };
    const f1 = safetensors({ __metadata__: { format: 'pt' }, ...t }, data);
    const f2 = safetensors({ __metadata__: { format: 'pt', title: 'renamed' }, ...t }, data);
    const p1 = join(root.path, 'm1.safetensors');
    const p2 = join(root.path, 'm2.safetensors');
    writeFileSync(p1, f1);
    writeFileSync(p2, f2);
    const [h1, h2] = [await fileHashes(p1), await fileHashes(p2)];
    assert.equal(h1.autov3, sha(data));
    assert.equal(h1.autov3Short, sha(data).slice(0, 12).toUpperCase());
    assert.equal(h1.autov3, h2.autov3);
    assert.notEqual(h1.sha256, h2.sha256);
    assert.equal(h1.sha256, sha(f1));
    assert.equal(h1.autov3HeaderGuard, undefined);
  });

  test('16 MiB header guard: a header of 16 MiB or more is hashed from byte 8', async () => {
    const data = bytes(1000, 8);
    const t = { w: { dtype: 'U8', shape: [1000], data_offsets: [0, 1000] } };
    const under = safetensors(t, data, AUTOV3_HEADER_GUARD - 1);
    const at = safetensors(t, data, AUTOV3_HEADER_GUARD);
    const pu = join(root.path, 'under.safetensors');
    const pa = join(root.path, 'at.safetensors');
    writeFileSync(pu, under);
    writeFileSync(pa, at);
    assert.equal((await fileHashes(pu)).autov3, sha(data));
    const ha = await fileHashes(pa);
    assert.equal(ha.autov3, sha(at.subarray(8)));
    assert.equal(ha.autov3HeaderGuard, true);
  });

  test('matchHash: full SHA-256 (any case, 0x), AutoV2 / shorthash, legacy, AutoV3 and its 12-digit form', async () => {
    const h = await fileHashes(join(root.path, 'm1.safetensors'));
    assert.equal(matchHash(h.sha256.toUpperCase(), h), 'sha256');
    assert.equal(matchHash('0x' + h.sha256, h), 'sha256');
    assert.equal(matchHash(h.autov2, h), 'autov2');
    assert.equal(matchHash(h.autov2.toLowerCase(), h), 'autov2');
    assert.equal(matchHash(h.legacy, h), 'legacy');
    assert.equal(matchHash(h.autov3!, h), 'autov3');
    assert.equal(matchHash(h.autov3Short!, h), 'autov3');
    assert.equal(matchHash('deadbeef', h), null);
    assert.equal(matchHash('not a hash', h), null);
  });
});

describe('hash cache', () => {
  test('keyed by (path, size, mtime): reused while they hold, recomputed when mtime changes; persisted', async () => {
    const p = join(root.path, 'cached.bin');
    const cacheFile = join(root.path, 'cache', 'hashes.json');
    writeFileSync(p, 'first content');
    utimesSync(p, 1_700_000_000, 1_700_000_000); // whole seconds, so restoring the mtime below is exact
    const cache = new HashCache(cacheFile);
    const h1 = await fileHashes(p, { cache });
    cache.save();
    // same size and mtime, other bytes: the cache answers (which proves it is used)
    const st = statSync(p);
    writeFileSync(p, 'other content');
    utimesSync(p, 1_700_000_000, 1_700_000_000);
    assert.equal(statSync(p).mtimeMs, st.mtimeMs);
    const again = new HashCache(cacheFile);
    assert.equal((await fileHashes(p, { cache: again })).sha256, h1.sha256);
    // a new mtime invalidates the entry
    utimesSync(p, 1_700_000_000, 1_700_000_005);
    const h3 = await fileHashes(p, { cache: again });
    assert.equal(h3.sha256, sha(Buffer.from('other content')));
    again.save();
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
    assert.equal(stored.modeldiffHashCache, 2);
    assert.equal(Object.values<{ file: { sha256: string } }>(stored.entries)[0]!.file.sha256, h3.sha256);
  });

  test('a damaged cache file is ignored', async () => {
    const cacheFile = join(root.path, 'bad.json');
    writeFileSync(cacheFile, '{not json');
    const c = new HashCache(cacheFile);
    assert.equal(c.lookup(join(root.path, 'cached.bin'), 1, 1), undefined);
  });
});

describe('component content hashes', () => {
  test('known answer: SHA-256 over sorted (key without prefix, dtype, shape, SHA-256 of the bytes) records', async () => {
    const w = encode('F32', [1, 2, 3, 4, 5, 6]);
    const bias = encode('F16', [0.5, -1]);
    const t = encode('F32', [9]);
    const data = new Uint8Array([...w, ...bias, ...t]);
    // stored in a non-sorted order, with SD prefixes
    const header = {
      'first_stage_model.decoder.conv_in.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      'first_stage_model.decoder.conv_in.bias': { dtype: 'F16', shape: [2], data_offsets: [24, 28] },
      'model.diffusion_model.out.2.bias': { dtype: 'F32', shape: [1], data_offsets: [28, 32] },
    };
    const p = join(root.path, 'tiny.safetensors');
    writeFileSync(p, safetensors(header, data));
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(n));
      return b;
    };
    const rec = (key: string, dtype: string, shape: number[], b: Uint8Array) =>
      Buffer.concat([u32(Buffer.byteLength(key)), Buffer.from(key), u32(dtype.length), Buffer.from(dtype), u32(shape.length), ...shape.map(u64), u64(b.length), createHash('sha256').update(b).digest()]);
    const vae = sha(Buffer.concat([rec('decoder.conv_in.bias', 'F16', [2], bias), rec('decoder.conv_in.weight', 'F32', [2, 3], w)]));
    const unet = sha(rec('out.2.bias', 'F32', [1], t));
    const h = await componentHashes(p);
    assert.deepEqual(h, { unet: { sha256: unet, tensors: 1, bytes: 4 }, vae: { sha256: vae, tensors: 2, bytes: 28 } });
  });

  test('the same VAE / text encoder recognised across files, orders, names and architectures', async () => {
    const L = layout('sd15', { scale: 32 });
    const b = cast(base(L, 1), 'F16');
    const other = cast(base(L, 2), 'F16');
    const xl = base(layout('sdxl_base', { scale: 32 }), 21);
    const sd1Te = renameKeys(dropComponent(b, ['unet', 'vae', 'ema', 'other']), (k) => k.replace(/^cond_stage_model\./, 'conditioner.embedders.0.'));
    const files: [string, ReturnType<typeof base>, 'sorted-by-name' | 'dtype-then-name'][] = [
      ['base.safetensors', b, 'sorted-by-name'],
      ['base_reordered.safetensors', b, 'dtype-then-name'],
      ['nai.safetensors', renameNai(b), 'sorted-by-name'],
      ['swapped_vae.safetensors', swapComponent(b, other, 'vae'), 'sorted-by-name'],
      ['other.safetensors', other, 'sorted-by-name'],
      ['fp32.safetensors', cast(b, 'F32'), 'sorted-by-name'],
      ['xl_with_sd1_te.safetensors', swapComponent(xl, sd1Te, 'te0'), 'dtype-then-name'],
    ];
    const dir = join(root.path, 'models');
    mkdirSync(dir, { recursive: true });
    for (const [f, r, style] of files) materialize(r, join(dir, f), { style, metadata: { title: f } });
    const cache = new HashCache(join(root.path, 'comp-cache.json'));
    const all = [];
    for (const [f] of files) all.push(await modelHashes(join(dir, f), { cache, components: true }));
    const by = Object.fromEntries(all.map((m) => [m.file, m]));
    const comp = (f: string, c: string) => by[f]!.components![c]!.sha256;

    // container order and metadata: file hashes differ, AutoV3 differs (data order), components do not
    assert.notEqual(by['base.safetensors']!.hashes!.sha256, by['base_reordered.safetensors']!.hashes!.sha256);
    for (const c of ['unet', 'te', 'vae', 'other', 'ema']) assert.equal(comp('base.safetensors', c), comp('base_reordered.safetensors', c), c);
    assert.equal(comp('nai.safetensors', 'te'), comp('base.safetensors', 'te'));
    assert.equal(comp('swapped_vae.safetensors', 'vae'), comp('other.safetensors', 'vae'));
    assert.equal(comp('swapped_vae.safetensors', 'unet'), comp('base.safetensors', 'unet'));
    assert.notEqual(comp('other.safetensors', 'vae'), comp('base.safetensors', 'vae'));
    assert.notEqual(comp('fp32.safetensors', 'unet'), comp('base.safetensors', 'unet')); // same values, other dtype
    assert.equal(comp('xl_with_sd1_te.safetensors', 'te0'), comp('base.safetensors', 'te'));

    const shared = sharedComponents(all);
    const members = (c: string, f: string) => shared.find((s) => s.members.some((m) => m.file === f && m.component === c))!.members.map((m) => `${m.file}:${m.component}`).sort();
    assert.deepEqual(members('te0', 'xl_with_sd1_te.safetensors'), [
      'base.safetensors:te',
      'base_reordered.safetensors:te',
      'nai.safetensors:te',
      'swapped_vae.safetensors:te',
      'xl_with_sd1_te.safetensors:te0',
    ]);
    assert.deepEqual(members('vae', 'other.safetensors'), ['other.safetensors:vae', 'swapped_vae.safetensors:vae']);

    // cached component hashes are returned without reading
    cache.save();
    const again = await componentHashes(join(dir, 'base.safetensors'), { cache: new HashCache(join(root.path, 'comp-cache.json')) });
    assert.equal(again.unet!.sha256, comp('base.safetensors', 'unet'));
  });

  test('one read for file slices, extra reads for strided and big-endian tensors: the same component hash', async () => {
    const KEY = 'model.diffusion_model.input_blocks.0.0.weight';
    const rows = 6;
    const cols = 10;
    const values = Array.from({ length: rows * cols }, (_, i) => i * 0.25 - 3);
    const transposed = Array.from({ length: rows * cols }, (_, i) => values[(i % rows) * cols + Math.floor(i / rows)]!);
    const bias = encode('F32', [1.5, -2]);
    const st = join(root.path, 'plain.safetensors');
    writeFileSync(
      st,
      safetensors(
        { [KEY]: { dtype: 'F32', shape: [rows, cols], data_offsets: [0, 240] }, 'model.diffusion_model.out.2.bias': { dtype: 'F32', shape: [2], data_offsets: [240, 248] } },
        new Uint8Array([...encode('F32', values), ...bias]),
      ),
    );
    const biasStorage = { key: '1', dtype: 'F32' as const, bytes: bias };
    const strided = join(root.path, 'strided.ckpt');
    writeTorchZip(strided, {
      tensors: [
        { name: KEY, storage: { key: '0', dtype: 'F32', bytes: encode('F32', transposed) }, shape: [rows, cols], strides: [1, rows] },
        { name: 'model.diffusion_model.out.2.bias', storage: biasStorage, shape: [2] },
      ],
    });
    const bigEndian = join(root.path, 'big.ckpt');
    writeTorchZip(
      bigEndian,
      {
        tensors: [
          { name: KEY, storage: { key: '0', dtype: 'F32', bytes: encode('F32', values) }, shape: [rows, cols] },
          { name: 'model.diffusion_model.out.2.bias', storage: biasStorage, shape: [2] },
        ],
      },
      { byteorder: 'big' },
    );
    const [a, b, c] = await Promise.all([st, strided, bigEndian].map((f) => componentHashes(f)));
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  test('a diffusers folder is hashed from its files every time (a folder mtime says nothing of the files in it)', async () => {
    const folder = join(root.path, 'pipeline');
    const ldm = base(layout('sd15', { scale: 32 }), 3);
    const items = (sub: string): [string, number[]][] =>
      (JSON.parse(readFileSync(join(LAYOUT_DIR, `sd15_diffusers_${sub}.json`), 'utf8')) as { tensors: [string, number[]][] }).tensors.map(([n, sh]) => [n, scaleShape(sh, 32)]);
    writeModelIndex(folder, 'StableDiffusionPipeline', ['unet', 'text_encoder', 'vae']);
    for (const sub of ['unet', 'text_encoder', 'vae']) writeComponent(folder, sub, componentFromLdm(ldm, 'sd1', sub, items(sub)));
    const cacheFile = join(root.path, 'folder-cache.json');
    const first = await modelHashes(folder, { components: true, cache: new HashCache(cacheFile) });
    assert.equal(first.hashes, null, 'a folder has no file hash');
    assert.ok(first.components?.unet);
    const dirTime = statSync(folder);
    const other = base(layout('sd15', { scale: 32 }), 4);
    writeComponent(folder, 'unet', componentFromLdm(other, 'sd1', 'unet', items('unet')));
    utimesSync(folder, dirTime.atime, dirTime.mtime);
    const cache = new HashCache(cacheFile);
    assert.equal(cachedModelHashes(folder, cache), null);
    const second = await modelHashes(folder, { components: true, cache });
    assert.notEqual(second.components!.unet!.sha256, first.components!.unet!.sha256);
    assert.equal(second.components!.te!.sha256, first.components!.te!.sha256);
  });

  test('modelHashes reports unreadable files instead of throwing', async () => {
    const p = join(root.path, 'junk.safetensors');
    writeFileSync(p, 'not a model at all');
    const m = await modelHashes(p, { components: true });
    assert.ok(m.hashes);
    assert.equal(m.components, null);
    assert.ok(m.error);
  });
});
