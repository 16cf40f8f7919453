// PyTorch checkpoints (zip and legacy) written in the torch.save layout: tensor tables, views, dtypes, byte order,
// Lightning nesting, and a .ckpt converted from a .safetensors file reading exactly like it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Checkpoint } from '../../../src/compute/model/checkpoint';
import { bytesPerElement, type DType } from '../../../src/compute/model/dtypes';
import { openPytorch, sniffPytorch } from '../../../src/compute/readers/pytorch/reader';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { tmpDir } from '../../helpers/tmp';
import { encode } from '../../fixtures/safetensorsWriter';
import { base, layout, materialize } from '../../fixtures/synth';
import { contiguousStrides, contiguousTensors, legacyBytes, torchZipBytes, writeTorchLegacy, writeTorchZip, type TorchCheckpoint, type TorchTensor } from '../../fixtures/torchWriter';
import { readTensor } from './readTensor';

const dir = tmpDir();
let n = 0;
const file = (ext: string) => join(dir, `${n++}.${ext}`);

/** The C-order elements of a view of `storage`, computed here independently of the reader. */
function expectedView(t: TorchTensor): Buffer {
  const esize = bytesPerElement(t.storage.dtype)!;
  const strides = t.strides ?? contiguousStrides(t.shape);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(numel * esize);
  const idx = new Array(t.shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let off = t.offset ?? 0;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d]!;
    out.set(t.storage.bytes.subarray(off * esize, (off + 1) * esize), i * esize);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function values(dtype: DType, n: number, seed = 1): Uint8Array {
  const v = Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 2001) / 100 - 10);
  if (dtype.startsWith('I') || dtype.startsWith('U')) return encode(dtype, v.map((x) => Math.abs(Math.round(x))));
  if (dtype === 'BOOL') return encode(dtype, v.map((x) => (x > 0 ? 1 : 0)));
  if (dtype === 'C64') return encode('F32', [...v, ...v]);
  if (dtype.startsWith('F8')) return Uint8Array.from(v.map((x) => Math.abs(Math.round(x * 3)) & 0x7f));
  return encode(dtype, v);
}

function viewsCheckpoint(): TorchCheckpoint {
  const s = { key: '0', dtype: 'F32' as const, bytes: values('F32', 60) };
  return {
    tensors: [
      { name: 'full', storage: s, shape: [5, 12] },
      { name: 'transposed', storage: s, shape: [12, 5], strides: [1, 12] },
      { name: 'row', storage: s, offset: 24, shape: [12] },
      { name: 'column', storage: s, offset: 3, shape: [5], strides: [12] },
      { name: 'every_other', storage: s, offset: 1, shape: [5, 6], strides: [12, 2] },
      { name: 'broadcast', storage: s, offset: 7, shape: [3, 4], strides: [0, 1] },
      { name: 'scalar', storage: s, offset: 59, shape: [] },
      { name: 'empty', storage: s, offset: 60, shape: [0, 3] },
      { name: 'param', storage: s, offset: 12, shape: [2, 6], parameter: true },
    ],
  };
}

async function checkViews(c: Checkpoint, ckpt: TorchCheckpoint): Promise<void> {
  assert.deepEqual(c.tensors.map((t) => t.name), ckpt.tensors.map((t) => t.name));
  ckpt.tensors.forEach((t, i) => {
    const ref = c.tensors[i]!;
    assert.deepEqual(ref.shape, t.shape, t.name);
    assert.equal(ref.dtype, t.storage.dtype);
    assert.ok(readTensor(ref).equals(expectedView(t)), `${t.name}: bytes`);
  });
  assert.equal(c.tensors.find((t) => t.name === 'row')!.strides, undefined, 'a contiguous view needs no strides');
  assert.deepEqual(c.tensors.find((t) => t.name === 'transposed')!.strides, [1, 12]);
}

describe('torch zip checkpoints', () => {
  it('views with offsets and strides over one shared storage read as torch would', async () => {
    const ckpt = viewsCheckpoint();
    const p = file('ckpt');
    writeTorchZip(p, ckpt);
    const c = await openCheckpoint(p);
    assert.equal(c.format, 'pytorch-zip');
    await checkViews(c, ckpt);
    assert.ok(c.notes.some((x) => /9 tensors share their storage/.test(x)));
    // One record holds the storage; every view points into it.
    const record = c.tensors.find((t) => t.name === 'full')!;
    for (const t of c.tensors) assert.ok(t.offset >= record.offset && t.offset <= record.offset + record.byteLength, t.name);
    assert.equal(record.offset % 64, 0, 'torch aligns records to 64 bytes');
  });

  it('every dtype torch saves: typed storages (v2) and untyped ones with an explicit dtype (v3)', async () => {
    const dtypes: DType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'C64', 'U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3'];
    const ckpt: TorchCheckpoint = { tensors: contiguousTensors(dtypes.map((d) => ({ name: d, dtype: d, shape: [2, 3], bytes: values(d, 6) }))) };
    for (const order of ['little', 'big'] as const) {
      const p = file('pt');
      writeTorchZip(p, ckpt, { byteorder: order });
      const c = await openPytorch(p);
      c.tensors.forEach((t, i) => {
        assert.equal(t.dtype, dtypes[i]);
        assert.ok(readTensor(t).equals(Buffer.from(ckpt.tensors[i]!.storage.bytes)), `${t.dtype} ${order}`);
        assert.equal(t.byteOrder, order === 'big' ? 'big' : undefined);
      });
    }
  });

  it('protocol 4 pickles, any archive folder name, no byteorder record', async () => {
    const ckpt = viewsCheckpoint();
    const p = file('pth');
    writeTorchZip(p, ckpt, { protocol: 4, archiveName: 'v1-5-pruned', byteorder: null });
    await checkViews(await openCheckpoint(p), ckpt);
  });

  it('Lightning checkpoints: state_dict unwrapped, epoch/global_step/version as metadata', async () => {
    const ckpt: TorchCheckpoint = { ...viewsCheckpoint(), lightning: { epoch: 6, globalStep: 470000, version: '1.4.2' } };
    const p = file('ckpt');
    writeTorchZip(p, ckpt);
    const c = await openCheckpoint(p);
    assert.deepEqual({ ...c.metadata }, { epoch: '6', global_step: '470000', 'pytorch-lightning_version': '1.4.2' });
    assert.equal(Object.getPrototypeOf(c.metadata), null);
    await checkViews(c, ckpt);
  });

  it('sniffs by content, whatever the extension', () => {
    assert.equal(sniffPytorch(torchZipBytes(viewsCheckpoint()).bytes.subarray(0, 512)), 'zip');
    assert.equal(sniffPytorch(legacyBytes(viewsCheckpoint()).subarray(0, 512)), 'legacy');
    assert.equal(sniffPytorch(new Uint8Array(512)), undefined);
  });
});

describe('legacy (pre-1.6) checkpoints', () => {
  it('read the same tensors and bytes as the zip format', async () => {
    const ckpt: TorchCheckpoint = { ...viewsCheckpoint(), lightning: { epoch: 1, globalStep: 2, version: '0.9.0' } };
    const p = file('pt');
    writeTorchLegacy(p, ckpt);
    const c = await openCheckpoint(p);
    assert.equal(c.format, 'pytorch-legacy');
    await checkViews(c, ckpt);
    assert.equal(c.metadata.global_step, '2');
  });

  it('a legacy file larger than the first read (big pickle, then storages)', async () => {
    const many = contiguousTensors(Array.from({ length: 6000 }, (_, i) => ({ name: `model.layers.${i}.a_long_parameter_name.weight`, dtype: 'F16' as const, shape: [4], bytes: values('F16', 4, i) })));
    const p = file('bin');
    writeTorchLegacy(p, { tensors: many });
    const c = await openCheckpoint(p);
    assert.equal(c.tensors.length, 6000);
    assert.ok(readTensor(c.tensors[5999]!).equals(Buffer.from(many[5999]!.storage.bytes)));
  });
});

describe('a .ckpt and a .bin converted from a .safetensors file', () => {
  it('have the same tensor table and the same bytes', async () => {
    const st = join(dir, 'model.safetensors');
    materialize(base(layout('sd15', { scale: 32 }), 3), st, { dtype: 'F16' });
    const s = await openCheckpoint(st);
    // What a converter does: every tensor becomes its own storage, wrapped in a Lightning dict for the .ckpt.
    const tensors = contiguousTensors(s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: readTensor(t) })));
    const ckptPath = join(dir, 'model.ckpt');
    writeTorchZip(ckptPath, { tensors, lightning: { epoch: 0, globalStep: 470000, version: '1.4.2' } }, { archiveName: 'model' });
    const binPath = join(dir, 'model.bin');
    writeTorchLegacy(binPath, { tensors });
    for (const p of [ckptPath, binPath]) {
      const c = await openCheckpoint(p);
      assert.deepEqual(
        c.tensors.map((t) => [t.name, t.dtype, t.shape, t.numel]),
        s.tensors.map((t) => [t.name, t.dtype, t.shape, t.numel]),
      );
      const byName = new Map(s.tensors.map((t) => [t.name, t]));
      for (const t of c.tensors) assert.ok(readTensor(t).equals(readTensor(byName.get(t.name)!)), `${p}: ${t.name}`);
    }
  });
});
