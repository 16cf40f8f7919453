// Hostile GGUF files, opened through the format registry like any model file: each is refused with a typed
// error naming the file, quickly and in bounded memory (the sandbox enforces both).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { concat } from '../fixtures/pickleWriter';
import { dimsOf, ggufBytes, type GgufKV, type GgufSpec, type GgufTensorSpec } from '../fixtures/ggufWriter';
import { quantiseGgml } from '../fixtures/quantise';
import { encode } from '../fixtures/safetensorsWriter';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const w = (name = 'w', n = 8): GgufTensorSpec => ({ name, type: 'F32', dims: [n], data: encode('F32', Array.from({ length: n }, (_, i) => i)) });
const file = (name: string, spec: Partial<GgufSpec> | Uint8Array) => sb.file(`${name}.gguf`, spec instanceof Uint8Array ? spec : ggufBytes({ tensors: [w()], ...spec }));
const u64 = (x: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, x, true);
  return b;
};
const u32 = (x: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x, true);
  return b;
};
const MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46);
const str = (s: string) => concat([u64(BigInt(s.length)), new TextEncoder().encode(s)]);

describe('GGUF header', () => {
  it('G1 bad magic, empty and short files', async () => {
    await expectRefused(sb, file('g1-magic', { magic: Uint8Array.of(0x47, 0x47, 0x55, 0x58) }), 'GGUF_BAD_MAGIC', /magic/);
    await expectRefused(sb, sb.file('g1-empty.gguf', new Uint8Array(0)), ['FORMAT_UNKNOWN'], /empty/);
    await expectRefused(sb, sb.file('g1-short.gguf', concat([MAGIC, u32(3), u64(0n)])), 'GGUF_INVALID', /ends inside the GGUF header/);
  });

  it('G2 versions 0, 1, 4 and a big-endian file', async () => {
    await expectRefused(sb, file('g2-v1', { version: 1 }), 'GGUF_UNSUPPORTED_VERSION', /version 1/);
    await expectRefused(sb, file('g2-v4', { version: 4 }), 'GGUF_UNSUPPORTED_VERSION', /version 4/);
    await expectRefused(sb, file('g2-v0', { version: 0 }), 'GGUF_UNSUPPORTED_VERSION');
    await expectRefused(sb, file('g2-be', { version: 0x03000000 }), 'GGUF_UNSUPPORTED_VERSION', /big-endian/);
  });

  it('G3 huge tensor and key/value counts are refused before any allocation', async () => {
    for (const [t, k] of [[2n ** 64n - 1n, 0n], [0n, 2n ** 63n], [1n << 40n, 1n << 40n], [2n, 0n]] as const) {
      await expectRefused(sb, file(`g3-${t}-${k}`, { tensorCount: t, kvCount: k }), ['GGUF_INVALID', 'GGUF_INVALID_OFFSET', 'GGUF_UNSUPPORTED_TYPE']);
    }
  });

  it('G4 string lengths past the end: key, value, tensor name, and 2^64-1', async () => {
    const head = (nt: bigint, nkv: bigint) => concat([MAGIC, u32(3), u64(nt), u64(nkv)]);
    await expectRefused(sb, sb.file('g4-key.gguf', concat([head(0n, 1n), u64(1000n), new Uint8Array(40)])), 'GGUF_INVALID', /key 0 declares 1000 bytes/);
    await expectRefused(sb, sb.file('g4-keymax.gguf', concat([head(0n, 1n), u64(2n ** 64n - 1n), new Uint8Array(40)])), 'GGUF_INVALID', /declares/);
    await expectRefused(sb, sb.file('g4-value.gguf', concat([head(0n, 1n), str('a.b'), u32(8), u64(1n << 50n), new Uint8Array(16)])), 'GGUF_INVALID', /"a\.b" declares/);
    await expectRefused(sb, sb.file('g4-name.gguf', concat([head(1n, 0n), u64(99999n), new Uint8Array(40)])), 'GGUF_INVALID', /name of tensor 0 declares/);
  });

  it('G5 arrays: huge counts, unknown item types, nesting too deep; unknown value types; booleans other than 0/1', async () => {
    const head = concat([MAGIC, u32(3), u64(0n), u64(1n), str('a.b')]);
    await expectRefused(sb, sb.file('g5-count.gguf', concat([head, u32(9), u32(0), u64(1n << 62n), new Uint8Array(64)])), 'GGUF_INVALID', /declares \d+ UINT8 items/);
    await expectRefused(sb, sb.file('g5-strings.gguf', concat([head, u32(9), u32(8), u64(1n << 40n), new Uint8Array(64)])), 'GGUF_INVALID', /STRING items/);
    await expectRefused(sb, sb.file('g5-item.gguf', concat([head, u32(9), u32(99), u64(1n), new Uint8Array(16)])), 'GGUF_INVALID', /type 99/);
    await expectRefused(sb, sb.file('g5-type.gguf', concat([head, u32(13), new Uint8Array(16)])), 'GGUF_INVALID', /value type 13/);
    await expectRefused(sb, sb.file('g5-bool.gguf', concat([head, u32(7), Uint8Array.of(2), new Uint8Array(16)])), 'GGUF_INVALID', /boolean/);
    let deep: GgufKV['value'] = { itemType: 'UINT8', items: [1] };
    for (let i = 0; i < 5; i++) deep = { itemType: 'ARRAY', items: [deep] };
    await expectRefused(sb, file('g5-deep', { kv: [{ key: 'a.deep', type: 'ARRAY', value: deep }] }), 'GGUF_INVALID', /nests arrays/);
  });

  it('G6 duplicate keys and tensor names; invalid UTF-8 names', async () => {
    const kv: GgufKV = { key: 'general.name', type: 'STRING', value: 'x' };
    await expectRefused(sb, file('g6-key', { kv: [kv, kv] }), 'GGUF_INVALID', /appears twice/);
    await expectRefused(sb, file('g6-tensor', { tensors: [w('a'), w('a')] }), 'GGUF_INVALID', /tensor "a" appears twice/);
    const bad = concat([MAGIC, u32(3), u64(0n), u64(1n), u64(2n), Uint8Array.of(0xff, 0xfe), u32(4), u32(1), new Uint8Array(16)]);
    await expectRefused(sb, sb.file('g6-utf8.gguf', bad), 'GGUF_INVALID', /UTF-8/);
  });

  it('G7 general.alignment: 0, not a power of two, too large, not a UINT32', async () => {
    for (const a of [0, 24, 1 << 21]) await expectRefused(sb, file(`g7-${a}`, { alignment: a }), 'GGUF_INVALID', /alignment/);
    await expectRefused(sb, file('g7-type', { kv: [{ key: 'general.alignment', type: 'INT32', value: 32 }] }), 'GGUF_INVALID', /not a UINT32/);
  });
});

describe('GGUF tensor infos', () => {
  it('G8 more than 4 dimensions; dimensions whose product overflows 64 bits; a dimension of 2^63', async () => {
    await expectRefused(sb, file('g8-dims', { tensors: [{ ...w(), dims: [1, 1, 1, 1, 8] }] }), 'GGUF_INVALID', /5 dimensions/);
    await expectRefused(sb, file('g8-overflow', { tensors: [{ ...w(), dims: [2n ** 32n, 2n ** 32n] }] }), 'GGUF_OVERFLOW', /overflows 64 bits/);
    await expectRefused(sb, file('g8-huge', { tensors: [{ ...w(), dims: [2n ** 63n] }] }), 'GGUF_OVERFLOW');
    await expectRefused(sb, file('g8-big', { tensors: [{ ...w(), dims: [2n ** 40n, 1000n] }] }), 'GGUF_INVALID_OFFSET', /extends past the end/);
  });

  it('G9 unknown, removed and unsupported ggml types are refused with their id', async () => {
    await expectRefused(sb, file('g9-99', { tensors: [{ ...w(), type: 99 }] }), 'GGUF_UNSUPPORTED_TYPE', /type id 99/);
    await expectRefused(sb, file('g9-2e31', { tensors: [{ ...w(), type: 0x80000000 }] }), 'GGUF_UNSUPPORTED_TYPE', /2147483648/);
    await expectRefused(sb, file('g9-removed', { tensors: [{ ...w(), type: 4 }] }), 'GGUF_UNSUPPORTED_TYPE', /Q4_2 \(ggml type 4\)/);
    await expectRefused(sb, file('g9-iq', { tensors: [{ name: 'w', type: 'IQ2_XXS', dims: [256], data: new Uint8Array(66) }] }), 'GGUF_UNSUPPORTED_TYPE', /IQ2_XXS/);
  });

  it('G10 rows that are not a whole number of blocks', async () => {
    await expectRefused(sb, file('g10', { tensors: [{ name: 'w', type: 'Q4_K', dims: [128, 2], data: new Uint8Array(144) }] }), 'GGUF_INVALID', /not a whole number of Q4_K blocks/);
  });

  it('G11 offsets out of range, unaligned, overlapping', async () => {
    await expectRefused(sb, file('g11-range', { tensors: [{ ...w(), offset: 1n << 40n }] }), 'GGUF_INVALID_OFFSET', /past the end/);
    await expectRefused(sb, file('g11-u64', { tensors: [{ ...w(), offset: 2n ** 64n - 32n }] }), 'GGUF_INVALID_OFFSET');
    await expectRefused(sb, file('g11-unaligned', { tensors: [{ ...w(), offset: 4n }] }), 'GGUF_INVALID_OFFSET', /not a multiple of the alignment/);
    await expectRefused(sb, file('g11-overlap', { tensors: [w('a', 32), { ...w('b', 16), offset: 32n }] }), 'GGUF_INVALID_OFFSET', /overlap/);
  });

  it('G12 shape overrides that do not fit the tensor', async () => {
    const kv = (v: unknown, type: GgufKV['type'] = 'ARRAY'): GgufKV[] => [{ key: 'comfy.gguf.orig_shape.w', type, value: v }];
    await expectRefused(sb, file('g12-product', { kv: kv({ itemType: 'INT32', items: [3, 3] }) }), 'GGUF_INVALID', /gives the shape \[3, 3\]/);
    await expectRefused(sb, file('g12-type', { kv: kv({ itemType: 'FLOAT32', items: [8] }) }), 'GGUF_INVALID', /not a short array of integers/);
    await expectRefused(sb, file('g12-scalar', { kv: kv(8, 'INT32') }), 'GGUF_INVALID', /not a short array/);
    await expectRefused(sb, file('g12-negative', { kv: kv({ itemType: 'INT32', items: [-2, -4] }) }), 'GGUF_INVALID', /negative/);
  });

  it('a valid quantised file opens, and its tensors read whole', async () => {
    const values = Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const o = await expectOpened(sb, file('ok', { tensors: [w(), { name: 'q', type: 'Q4_K', dims: dimsOf([2, 256]), data: quantiseGgml('Q4_K', values) }] }), { readTensors: true });
    assert.equal(o.format, 'gguf');
    assert.deepEqual(o.tensors.map((t) => [t.name, t.dtype]), [['w', 'F32'], ['q', 'Q4_K']]);
    assert.ok(o.tensors.every((t) => t.sha256));
  });
});
