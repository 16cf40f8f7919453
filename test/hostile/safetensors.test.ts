// Hostile safetensors files (research note §7.1, S1-S28), opened through the format registry like any model file.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { concat } from '../fixtures/pickleWriter';
import { expectOpened, expectRefused, Sandbox } from './sandbox';
import { MAX_TENSOR_NAME_LENGTH } from '../../src/compute/model/limits';

const sb = new Sandbox();
after(() => sb.close());

const enc = new TextEncoder();
/** A safetensors file: the header as given (string or JSON-able object), its length (or `n`), then `data`. */
const st = (name: string, header: string | object, data: Uint8Array = new Uint8Array(0), n?: bigint) => {
  const h = typeof header === 'string' ? enc.encode(header) : enc.encode(JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, n ?? BigInt(h.length), true);
  return sb.file(`${name}.safetensors`, concat([len, h, data]));
};
const t = (dtype: string, shape: unknown[], offsets: unknown[]) => ({ dtype, shape, data_offsets: offsets });
const ST_ANY = ['ST_INVALID_HEADER_LENGTH', 'ST_INVALID_JSON', 'ST_INVALID_ENTRY', 'ST_HEADER_TOO_LARGE', 'ST_HEADER_TOO_SMALL', 'FORMAT_UNKNOWN'] as const;

describe('safetensors header', () => {
  it('S1 empty file and fewer than 8 bytes', async () => {
    await expectRefused(sb, sb.file('s1-empty.safetensors', new Uint8Array(0)), ['FORMAT_UNKNOWN', 'ST_HEADER_TOO_SMALL'], /empty/);
    await expectRefused(sb, sb.file('s1-short.safetensors', new Uint8Array(5)), ['FORMAT_UNKNOWN', 'ST_HEADER_TOO_SMALL'], /5 bytes/);
  });

  it('S2 header length beyond the file', async () => {
    await expectRefused(sb, st('s2', '{}', new Uint8Array(0), 1000n), [...ST_ANY], /1000/);
  });

  it('S3 header lengths of u64 max, 100000001 and 2^53+1', async () => {
    for (const n of [2n ** 64n - 1n, 100_000_001n, 2n ** 53n + 1n]) await expectRefused(sb, st('s3', '{}', new Uint8Array(0), n), [...ST_ANY]);
  });

  it('S4 N = 0', async () => {
    await expectRefused(sb, st('s4', '', new Uint8Array(8)), [...ST_ANY]);
  });

  it('S5 invalid UTF-8 in the header', async () => {
    const len = new Uint8Array(8);
    len[0] = 4;
    await expectRefused(sb, sb.file('s5.safetensors', concat([len, Uint8Array.of(0x7b, 0x22, 0xff, 0x7d)])), ['ST_INVALID_UTF8', 'ST_INVALID_JSON'], /UTF-8|JSON/);
  });

  it('S6 headers that are not objects', async () => {
    for (const h of ['[]', '"x"', '1', 'null']) await expectRefused(sb, st('s6', h), [...ST_ANY]);
  });

  it('S7 BOM, NUL padding and trailing garbage are refused; JSON whitespace is accepted', async () => {
    await expectRefused(sb, st('s7-bom', '\ufeff{}'), [...ST_ANY]);
    await expectRefused(sb, st('s7-nul', '{}\0\0'), [...ST_ANY]);
    await expectRefused(sb, st('s7-garbage', '{}x'), [...ST_ANY]);
    await expectOpened(sb, st('s7-ws', ' \t\n{} \r\n  '));
  });

  it('S8 duplicate tensor names are refused (same and different dtype)', async () => {
    const e = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    await expectRefused(sb, st('s8-same', `{"a":${e},"a":${e}}`, new Uint8Array(4)), 'ST_DUPLICATE_KEY', /appears twice/);
    await expectRefused(sb, st('s8-dtype', `{"a":${e},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, new Uint8Array(4)), 'ST_DUPLICATE_KEY');
  });

  it('S9 duplicate fields inside an entry; __metadata__ twice', async () => {
    await expectRefused(sb, st('s9-field', '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), 'ST_DUPLICATE_KEY');
    await expectRefused(sb, st('s9-meta', '{"__metadata__":{},"__metadata__":{}}'), 'ST_DUPLICATE_KEY');
  });

  it('S10 __metadata__ that is not an object of strings; null is no metadata', async () => {
    for (const m of ['1', '[]', 'true', '{"a":1}']) await expectRefused(sb, st('s10', `{"__metadata__":${m}}`), 'ST_INVALID_ENTRY');
    await expectOpened(sb, st('s10-null', '{"__metadata__":null}'));
  });

  it('S11 unknown dtypes', async () => {
    for (const d of ['f32', 'F128', '']) await expectRefused(sb, st('s11', { a: t(d, [1], [0, 4]) }, new Uint8Array(4)), 'ST_UNKNOWN_DTYPE', /unsupported dtype/);
  });

  it('S12 dtype x shape different from the byte range', async () => {
    await expectRefused(sb, st('s12', { a: t('I32', [2, 2], [0, 4]) }, new Uint8Array(4)), 'ST_TENSOR_INVALID_INFO', /occupies 4 bytes but I32/);
  });

  it('S13 malformed offsets', async () => {
    for (const o of ['[8,0]', '[-8,0]', '[0,8.0]', '[0,8e0]', '[0,8,8]', '[0]', '["0","8"]']) {
      await expectRefused(sb, st('s13', `{"a":{"dtype":"U8","shape":[8],"data_offsets":${o}}}`, new Uint8Array(8)), ['ST_INVALID_ENTRY', 'ST_INVALID_OFFSET', 'ST_INVALID_JSON']);
    }
  });

  it('S14 values above 2^53 are never rounded into place', async () => {
    await expectRefused(sb, st('s14', '{"a":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,9007199254740993]}}', new Uint8Array(8)), [
      'ST_OVERFLOW',
      'ST_INVALID_ENTRY',
      'ST_INVALID_JSON',
      'ST_INCOMPLETE_BUFFER',
    ]);
  });

  it('S15 overlapping and identical ranges', async () => {
    await expectRefused(sb, st('s15-overlap', { a: t('U8', [8], [0, 8]), b: t('U8', [8], [4, 12]) }, new Uint8Array(12)), 'ST_INVALID_OFFSET', /overlap|inside another/);
    await expectRefused(sb, st('s15-same', { a: t('U8', [8], [0, 8]), b: t('U8', [8], [0, 8]) }, new Uint8Array(8)), 'ST_INVALID_OFFSET');
  });

  it('S16 gaps and a first tensor not at 0', async () => {
    await expectRefused(sb, st('s16-gap', { a: t('U8', [4], [0, 4]), b: t('U8', [4], [8, 12]) }, new Uint8Array(12)), 'ST_INVALID_OFFSET', /gap/);
    await expectRefused(sb, st('s16-start', { a: t('U8', [4], [4, 8]) }, new Uint8Array(8)), 'ST_INVALID_OFFSET');
  });

  it('S17 trailing bytes (read as declared, counted for the health check) and truncated data (refused)', async () => {
    const o = await expectOpened(sb, st('s17-trailing', { a: t('U8', [4], [0, 4]) }, new Uint8Array(9)));
    assert.equal(o.tensors.length, 1);
    await expectRefused(sb, st('s17-short', { a: t('U8', [4], [0, 4]) }, new Uint8Array(2)), 'ST_INCOMPLETE_BUFFER', /truncated/);
  });

  it('S18 entries out of order but contiguous are accepted', async () => {
    const o = await expectOpened(sb, st('s18', { b: t('U8', [4], [4, 8]), a: t('U8', [4], [0, 4]) }, new Uint8Array(8)));
    assert.equal(o.tensors.length, 2);
  });

  it('S19 shape products that overflow 64 bits', async () => {
    await expectRefused(sb, st('s19', '{"a":{"dtype":"U8","shape":[2,18446744073709551614],"data_offsets":[0,4]}}', new Uint8Array(4)), ['ST_OVERFLOW', 'ST_INVALID_ENTRY']);
  });

  it('S20 sub-byte dtypes must fill whole bytes', async () => {
    await expectRefused(sb, st('s20-f4', { a: t('F4', [3], [0, 2]) }, new Uint8Array(2)), 'ST_MISALIGNED_SLICE');
    await expectRefused(sb, st('s20-f6', { a: t('F6_E2M3', [3], [0, 3]) }, new Uint8Array(3)), 'ST_MISALIGNED_SLICE');
    await expectOpened(sb, st('s20-ok4', { a: t('F4', [4], [0, 2]) }, new Uint8Array(2)));
    await expectOpened(sb, st('s20-ok6', { a: t('F6_E2M3', [4], [0, 3]) }, new Uint8Array(3)));
  });

  it('S21 zero-size tensors, scalars and empty headers are accepted', async () => {
    await expectOpened(sb, st('s21-zero', { a: t('F32', [2, 0], [0, 0]), b: t('F32', [0], [0, 0]), c: t('F32', [], [0, 4]) }, new Uint8Array(4)));
    await expectOpened(sb, st('s21-empty', '{}'));
  });

  it('S22 awkward names stay plain data', async () => {
    const names = ['__proto__', 'constructor', '', 'a\u0000b', 'x'.repeat(MAX_TENSOR_NAME_LENGTH)];
    const header: Record<string, unknown> = {};
    names.forEach((n, i) => {
      Object.defineProperty(header, n, { value: t('U8', [1], [i, i + 1]), enumerable: true });
    });
    const o = await expectOpened(sb, st('s22', header, new Uint8Array(names.length)));
    assert.deepEqual(o.tensors.map((x) => x.name).sort(), names.slice().sort());
  });

  it('S22b a name longer than the limit (a 50 MB name once ended a run) is refused, the message short', async () => {
    const path = st('s22b', { ['x'.repeat(100_000)]: t('U8', [1], [0, 1]) }, new Uint8Array(1));
    const message = await expectRefused(sb, path, 'MODEL_LIMIT', /tensor name of 100000 characters/);
    assert.ok(message.length < 300);
  });

  it('S23 lone surrogate escapes are refused', async () => {
    await expectRefused(sb, st('s23', '{"\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), ['ST_INVALID_JSON', 'ST_INVALID_UTF8']);
  });

  it('S24 more entries than a model may have are refused in bounded time, before they are all built', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 400_000; i++) parts.push(`"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
    await expectRefused(sb, st('s24', `{${parts.join(',')}}`), 'MODEL_LIMIT', /more than 100000 tensors/);
  });

  it('S25 NaN, infinities, subnormals and -0 are just data', async () => {
    const data = new Uint8Array(new Float32Array([NaN, Infinity, -Infinity, 1e-45, -0]).buffer);
    const o = await expectOpened(sb, st('s25', { a: t('F32', [5], [0, 20]) }, data), { readTensors: true });
    assert.ok(o.tensors[0]!.sha256);
  });

  it('S26 a header length that misaligns the data is read correctly', async () => {
    const o = await expectOpened(sb, st('s26', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} ', new Uint8Array(new Float32Array([1, 2]).buffer)), { readTensors: true });
    assert.equal(o.tensors[0]!.numel, 2);
  });

  it('S27 unknown fields in an entry are ignored', async () => {
    await expectOpened(sb, st('s27', '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}', new Uint8Array(1)));
  });

  it('S28 a file that reads both as safetensors and as a torch zip is refused as ambiguous', async () => {
    // "PK\x03\x04" then four zero bytes is a header length of 0x04034b50 (67 MB); the header is "{}" padded with spaces.
    const n = 0x04034b50;
    const bytes = new Uint8Array(8 + n).fill(0x20);
    bytes.set([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0x7b, 0x7d]);
    await expectRefused(sb, sb.file('s28.safetensors', bytes), 'FORMAT_UNKNOWN', /both as safetensors and as a PyTorch checkpoint/);
  });
});
