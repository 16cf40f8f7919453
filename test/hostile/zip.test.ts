// Hostile zip containers (research note §7.2, Z1-Z18), built from a valid torch zip by the writer's overrides or
// by patching its bytes.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { callPickle, f32, smallCheckpoint, zipBytes } from './craft';
import { expectOpened, expectRefused, Sandbox } from './sandbox';
import { checkpointPickle, torchZipBytes, type TorchCheckpoint } from '../fixtures/torchWriter';
import { buildZip, type ZipWriterEntry } from '../fixtures/zipWriter';

const sb = new Sandbox();
after(() => sb.close());

const edited = (name: string, edit: (e: ZipWriterEntry[]) => ZipWriterEntry[], ckpt: TorchCheckpoint = smallCheckpoint()) => sb.file(`${name}.ckpt`, zipBytes(ckpt, { edit }));
const byName = (entries: ZipWriterEntry[], suffix: string) => entries.findIndex((e) => e.name.endsWith(suffix));
const patch = (bytes: Uint8Array, at: number, values: number[] | Uint8Array) => {
  const out = bytes.slice();
  out.set(values, at);
  return out;
};
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

describe('Z1-Z6 container structure', () => {
  it('Z1 junk before the first local header', async () => {
    const z = zipBytes();
    const prefixed = new Uint8Array([...new TextEncoder().encode('JUNKJUNK'), ...z]);
    await expectRefused(sb, sb.file('z1.ckpt', prefixed), 'FORMAT_UNKNOWN');
    // Starts with a local header that the directory does not list (a hidden entry before the real ones).
    const hidden = buildZip([{ name: 'x/hidden', data: new Uint8Array(3) }]).bytes.subarray(0, 64 + 3);
    const layout = torchZipBytes(smallCheckpoint());
    const shifted = buildZip(
      layout.entries.map((e) => ({ name: e.name, data: layout.bytes.subarray(e.dataStart, e.dataStart + e.dataLength) })),
      { prefix: hidden },
    ).bytes;
    await expectRefused(sb, sb.file('z1-hidden.ckpt', shifted), 'ZIP_INVALID', /first entry starts at byte \d+, not at the start/);
  });

  it('Z2 truncated archive / end record missing', async () => {
    const z = zipBytes();
    await expectRefused(sb, sb.file('z2-cut.ckpt', z.subarray(0, z.length - 30)), 'ZIP_INVALID', /no end-of-central-directory record/);
    await expectRefused(sb, sb.file('z2-half.ckpt', z.subarray(0, z.length >> 1)), 'ZIP_INVALID', /no end-of-central-directory record/);
    await expectRefused(sb, sb.file('z2-tiny.ckpt', z.subarray(0, 10)), 'ZIP_INVALID', /too few for a zip archive/);
  });

  it('Z3 a tiny archive with ZIP64 end record and locator (what torch writes) opens', async () => {
    const o = await expectOpened(sb, sb.file('z3.ckpt', zipBytes()), { readTensors: true });
    assert.deepEqual(o.tensors.map((t) => t.shape), [[2, 3], [2]]);
    // ... and so does a classic archive without ZIP64 records.
    const layout = torchZipBytes(smallCheckpoint());
    const classic = buildZip(layout.entries.map((e) => ({ name: e.name, data: layout.bytes.subarray(e.dataStart, e.dataStart + e.dataLength) })), { classic: true });
    await expectOpened(sb, sb.file('z3-classic.ckpt', classic.bytes));
  });

  it('Z4 ZIP64 locator pointing elsewhere, bad ZIP64 signature, end records that disagree', async () => {
    const layout = torchZipBytes(smallCheckpoint());
    const locator = layout.eocdOffset - 20;
    await expectRefused(sb, sb.file('z4-loc.ckpt', patch(layout.bytes, locator + 8, u64(BigInt(layout.zip64EocdOffset - 8)))), 'ZIP_INVALID', /ZIP64/);
    await expectRefused(sb, sb.file('z4-far.ckpt', patch(layout.bytes, locator + 8, u64(2n ** 62n))), 'ZIP_INVALID', /ZIP64 locator points to byte/);
    await expectRefused(sb, sb.file('z4-sig.ckpt', patch(layout.bytes, layout.zip64EocdOffset, [0x50, 0x4b, 0x06, 0x05])), 'ZIP_INVALID', /not a ZIP64 end record/);
    await expectRefused(sb, sb.file('z4-count.ckpt', patch(layout.bytes, layout.eocdOffset + 10, [1, 0])), 'ZIP_INVALID', /classic and ZIP64 end records disagree/);
  });

  it('Z5 ZIP64 extra fields: 64-bit values are read exactly and bounds-checked', async () => {
    await expectOpened(sb, edited('z5-ok', (es) => es.map((e) => ({ ...e, zip64Extra: true }))), { readTensors: true });
    const past = edited('z5-past', (es) => es.map((e, i) => (i === byName(es, 'data/0') ? { ...e, zip64Extra: true, localHeaderOffset: 2 ** 32 + 64 } : e)));
    await expectRefused(sb, past, 'ZIP_INVALID', /outside the file's data area/);
    const size = edited('z5-size', (es) => es.map((e, i) => (i === byName(es, 'data/0') ? { ...e, zip64Extra: true, compressedSize: 2 ** 33, uncompressedSize: 2 ** 33 } : e)));
    await expectRefused(sb, size, 'ZIP_INVALID', /outside the file's data area|runs past the data area/);
    // A sentinel without the ZIP64 field that should carry the value.
    const layout = torchZipBytes(smallCheckpoint());
    const cdFirst = layout.cdOffset;
    await expectRefused(sb, sb.file('z5-missing.ckpt', patch(layout.bytes, cdFirst + 24, u32(0xffffffff))), 'ZIP_INVALID', /0xFFFFFFFF but no ZIP64 field/);
  });

  it('Z6 directory or local header beyond the end of the file', async () => {
    const layout = torchZipBytes(smallCheckpoint());
    await expectRefused(sb, sb.file('z6-cd.ckpt', patch(layout.bytes, layout.zip64EocdOffset + 48, u64(10_000_000n))), 'ZIP_INVALID');
    await expectRefused(sb, sb.file('z6-cdsize.ckpt', patch(layout.bytes, layout.zip64EocdOffset + 40, u64(10_000_000n))), 'ZIP_INVALID');
    const lho = edited('z6-lho', (es) => es.map((e, i) => (i === byName(es, 'data/1') ? { ...e, localHeaderOffset: 10_000_000 } : e)));
    await expectRefused(sb, lho, 'ZIP_INVALID', /outside the file's data area/);
    const data = edited('z6-data', (es) => es.map((e, i) => (i === byName(es, 'data/1') ? { ...e, compressedSize: 2147483647, uncompressedSize: 2147483647 } : e)));
    await expectRefused(sb, data, 'ZIP_INVALID', /runs past the data area|outside the file's data area/);
  });
});

describe('Z7-Z11 entries', () => {
  it('Z7 a deflated storage record (100 MB of zeros in about 100 KB) is refused without inflating it', async () => {
    const zeros = new Uint8Array(100_000_000);
    const ckpt: TorchCheckpoint = { tensors: [{ name: 'bomb', storage: { key: '0', dtype: 'F32', bytes: zeros }, shape: [25_000_000] }] };
    const path = sb.file('z7.ckpt', zipBytes(ckpt, { edit: (es) => es.map((e) => (e.name.endsWith('data/0') ? { ...e, method: 8 } : e)) }));
    await expectRefused(sb, path, 'ZIP_UNSUPPORTED', /is compressed \(method 8\).*zip bomb/);
    const pkl = edited('z7-pkl', (es) => es.map((e) => (e.name.endsWith('data.pkl') ? { ...e, method: 8 } : e)));
    await expectRefused(sb, pkl, 'ZIP_UNSUPPORTED', /data\.pkl" is compressed/);
  });

  it('Z8 a duplicated entry name', async () => {
    const dup = edited('z8', (es) => [...es, { ...es[byName(es, 'data/0')]!, data: f32([9, 9, 9, 9, 9, 9]) }]);
    await expectRefused(sb, dup, 'ZIP_INVALID', /"archive\/data\/0" appears twice/);
  });

  it('Z9 two directory entries sharing one local header; overlapping data', async () => {
    const shared = edited('z9-shared', (es) => es.map((e, i) => (i === byName(es, 'data/1') ? { ...e, shareLocalHeaderOf: byName(es, 'data/0'), localName: es[byName(es, 'data/0')]!.name } : e)));
    await expectRefused(sb, shared, 'ZIP_INVALID', /names a different file|overlap/);
    const layout = torchZipBytes(smallCheckpoint());
    const d0 = layout.entries.find((e) => e.name.endsWith('data/0'))!;
    // data/0 claims enough bytes to run into the next local header.
    const overlapping = edited('z9-overlap', (es) => es.map((e, i) => (i === byName(es, 'data/0') ? { ...e, compressedSize: d0.dataLength + 40, uncompressedSize: d0.dataLength + 40 } : e)));
    await expectRefused(sb, overlapping, 'ZIP_INVALID', /overlap/);
  });

  it('Z10 local name different from the directory name; CRC mismatch; encryption and patch flags', async () => {
    const renamed = edited('z10-name', (es) => es.map((e) => (e.name.endsWith('data.pkl') ? { ...e, localName: e.name.replace('data.pkl', 'datap.kl') } : e)));
    await expectRefused(sb, renamed, 'ZIP_INVALID', /names a different file than the directory entry "archive\/data\.pkl"/);
    const crc = edited('z10-crc', (es) => es.map((e) => (e.name.endsWith('data.pkl') ? { ...e, crc: 0x12345678 } : e)));
    await expectRefused(sb, crc, 'ZIP_INVALID', /fails its CRC check/);
    for (const flag of [0x1, 0x40]) {
      const enc = edited(`z10-${flag}`, (es) => es.map((e) => (e.name.endsWith('data/0') ? { ...e, flags: 0x0808 | flag } : e)));
      await expectRefused(sb, enc, 'ZIP_UNSUPPORTED', /is encrypted/);
    }
    const patched = edited('z10-20', (es) => es.map((e) => (e.name.endsWith('data/0') ? { ...e, flags: 0x0828 } : e)));
    await expectRefused(sb, patched, 'ZIP_UNSUPPORTED', /patched data/);
  });

  it('Z11 two roots, traversal, absolute and backslash names, no folder', async () => {
    await expectRefused(sb, edited('z11-roots', (es) => [...es, { name: 'other/data/9', data: new Uint8Array(4) }]), 'ZIP_INVALID', /outside the checkpoint folder "archive\/"/);
    for (const [name, bad] of [['dotdot', 'archive/../../etc/x'], ['abs', '/archive/x'], ['backslash', 'archive\\data\\0'], ['dot', 'archive/./x']]) {
      await expectRefused(sb, edited(`z11-${name}`, (es) => [...es, { name: bad!, data: new Uint8Array(1) }]), 'ZIP_INVALID', /not a plain relative path/);
    }
    const flat = buildZip([{ name: 'data.pkl', data: callPickle('os', 'system') }]).bytes;
    await expectRefused(sb, sb.file('z11-flat.ckpt', flat), 'FORMAT_UNKNOWN', /not inside one folder/);
  });
});

describe('Z12-Z18 torch records', () => {
  it('Z12 data.pkl or version missing, bad version, TorchScript archives', async () => {
    await expectRefused(sb, edited('z12-nopkl', (es) => es.filter((e) => !e.name.endsWith('data.pkl'))), 'FORMAT_UNKNOWN', /without data\.pkl/);
    await expectRefused(sb, edited('z12-noversion', (es) => es.filter((e) => !e.name.endsWith('/version'))), 'PT_INVALID', /no version record/);
    const badVersion = edited('z12-badversion', (es) => es.map((e) => (e.name.endsWith('/version') ? { ...e, data: new TextEncoder().encode('three') } : e)));
    await expectRefused(sb, badVersion, 'PT_INVALID', /version record says "three"/);
    for (const [name, extra] of [['constants', 'archive/constants.pkl'], ['code', 'archive/code/__torch__/m.py'], ['modeljson', 'archive/model.json']]) {
      await expectRefused(sb, edited(`z12-${name}`, (es) => [...es, { name: extra!, data: new Uint8Array(4) }]), 'PT_UNSUPPORTED', /TorchScript archive/);
    }
  });

  it('Z13 other members holding pickles are never unpickled, only reported', async () => {
    const extra = edited('z13', (es) => [
      ...es,
      { name: 'archive/extra.pkl', data: callPickle('os', 'system') },
      { name: 'archive/data/7', data: callPickle('os', 'system') },
    ]);
    const o = await expectOpened(sb, extra);
    assert.ok(o.notes.some((n) => /1 data records are not used by any tensor \(first: "archive\/data\/7"\)/.test(n)), o.notes.join('\n'));
    assert.ok(o.notes.some((n) => /1 other records were not read \(first: "archive\/extra\.pkl"\)/.test(n)), o.notes.join('\n'));
  });

  it('Z14 byteorder "big" is swapped; anything but little/big is refused', async () => {
    const little = await expectOpened(sb, sb.file('z14-little.ckpt', zipBytes()), { readTensors: true });
    const big = await expectOpened(sb, sb.file('z14-big.ckpt', zipBytes(smallCheckpoint(), { byteorder: 'big' })), { readTensors: true });
    assert.deepEqual(big.tensors.map((t) => t.sha256), little.tensors.map((t) => t.sha256));
    for (const text of ['middle', '', 'little\n', 'l'.repeat(100)]) {
      const bad = edited('z14-bad', (es) => es.map((e) => (e.name.endsWith('byteorder') ? { ...e, data: new TextEncoder().encode(text) } : e)));
      await expectRefused(sb, bad, ['PT_INVALID', 'PT_LIMIT'], /byteorder|allowed/);
    }
  });

  it('Z15 record size different from numel x element size; referenced record missing', async () => {
    const short = edited('z15-size', (es) => es.map((e) => (e.name.endsWith('data/0') ? { ...e, data: f32([1, 2, 3, 4, 5]) } : e)));
    await expectRefused(sb, short, 'PT_INVALID', /storage "0" \(6 × torch\.FloatStorage\) needs 24 bytes but its record has 20/);
    await expectRefused(sb, edited('z15-missing', (es) => es.filter((e) => !e.name.endsWith('data/1'))), 'PT_INVALID', /storage "1" has no data record/);
  });

  it('Z16 one storage key used with two storage types', async () => {
    const ckpt = smallCheckpoint();
    const s = ckpt.tensors[0]!.storage;
    ckpt.tensors.push({ name: 'as_long', storage: { key: s.key, dtype: 'I64', bytes: s.bytes.subarray(0, 16) }, shape: [2] });
    const layout = torchZipBytes(smallCheckpoint(), { pickle: checkpointPickle(ckpt) });
    await expectRefused(sb, sb.file('z16.ckpt', layout.bytes), 'PT_INVALID', /storage "0" is used as torch\.FloatStorage of 6 and as torch\.LongStorage of 2/);
  });

  it('Z17 records not aligned to 64 bytes (another writer) open', async () => {
    const o = await expectOpened(sb, edited('z17', (es) => es.map((e) => ({ ...e, noPadding: true }))), { readTensors: true });
    const ref = await expectOpened(sb, sb.file('z17-ref.ckpt', zipBytes()), { readTensors: true });
    assert.deepEqual(o.tensors.map((t) => t.sha256), ref.tensors.map((t) => t.sha256));
  });

  it('Z18 checkpoints wrapped in 7z, gzip, xz or tar.gz are refused as containers, never tried as pickles', async () => {
    const z = zipBytes();
    await expectRefused(sb, sb.file('z18.7z', Uint8Array.of(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4, ...z)), 'FORMAT_UNKNOWN', /7z archive/);
    await expectRefused(sb, sb.file('z18.gz', gzipSync(z)), 'FORMAT_UNKNOWN', /gzip/);
    await expectRefused(sb, sb.file('z18.xz', Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, ...z)), 'FORMAT_UNKNOWN', /xz/);
    await expectRefused(sb, sb.file('z18.tar.gz', gzipSync(new Uint8Array(1024))), 'FORMAT_UNKNOWN', /gzip/);
  });
});
