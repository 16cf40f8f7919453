import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Checkpoint, TensorRef } from '../../../src/compute/model/checkpoint';
import { dtypeBits, DTYPES, isDType, type DType } from '../../../src/compute/model/dtypes';
import { ModeldiffError, type ErrorCode } from '../../../src/shared/errors';
import { testSeed } from '../../helpers/seed';
import { MAX_TENSOR_NAME_LENGTH, MAX_TENSORS_PER_MODEL } from '../../../src/compute/model/limits';
import { MAX_HEADER_SIZE, openSafetensors, parseSafetensorsHeader, sniffSafetensors } from '../../../src/compute/readers/safetensors/reader';

const SEED = 20260521;
const enc = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'modeldiff-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// Fixture helpers

/** The 8-byte length (the header's own unless `declared` says otherwise), the header, then `data`. */
function file(header: string | Uint8Array, data: number | Uint8Array = 0, declared?: bigint): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** One tensor entry as header JSON. */
function t(dtype: string, shape: (number | string)[], begin: number | string, end: number | string): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

let fileCount = 0;
async function openBytes(content: Uint8Array): Promise<{ path: string; checkpoint: Checkpoint }> {
  const path = join(dir, `f${fileCount++}.safetensors`);
  writeFileSync(path, content);
  return { path, checkpoint: await openSafetensors(path) };
}

async function rejectsWith(content: Uint8Array, code: ErrorCode): Promise<ModeldiffError> {
  const path = join(dir, `f${fileCount++}.safetensors`);
  writeFileSync(path, content);
  try {
    await openSafetensors(path);
  } catch (e) {
    assert.ok(e instanceof ModeldiffError, `expected a ModeldiffError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.file, path);
    assert.match(e.message, /^[a-z_]/, 'messages start lowercase');
    assert.doesNotMatch(e.message, /\n/);
    return e;
  }
  assert.fail(`expected ${code}, but the file was accepted`);
}

/** parseSafetensorsHeader over an in-memory file whose length prefix is in range. */
function parseBytes(content: Uint8Array, path = 'mem.safetensors') {
  const n = Number(new DataView(content.buffer, content.byteOffset, 8).getBigUint64(0, true));
  return parseSafetensorsHeader(content.subarray(8, 8 + n), content.length, path);
}

function summary(c: { tensors: TensorRef[] }): [string, string, number[], number][] {
  return c.tensors.map((x) => [x.name, x.dtype, x.shape, x.byteLength]);
}

interface Spec {
  name: string;
  dtype: DType;
  shape: number[];
}

/** Writes a file the way the reference writer does: entries sorted by alignment then name, header padded with spaces to 8. */
function writeSafetensors(specs: Spec[], metadata?: [string, string][], pad: { lead?: string; trail?: string } = {}) {
  const ordered = [...specs].sort((a, b) => dtypeBits(b.dtype) - dtypeBits(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const members: string[] = [];
  if (metadata) members.push(`"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  const chunks: Uint8Array[] = [];
  let at = 0;
  const expected: { spec: Spec; begin: number; data: Uint8Array }[] = [];
  for (const spec of ordered) {
    const numel = spec.shape.reduce((a, b) => a * b, 1);
    const size = (numel * dtypeBits(spec.dtype)) / 8;
    const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + at) & 0xff);
    members.push(`${JSON.stringify(spec.name)}:${t(spec.dtype, spec.shape, at, at + size)}`);
    expected.push({ spec, begin: at, data });
    chunks.push(data);
    at += size;
  }
  let header = `${pad.lead ?? ''}{${members.join(',')}}${pad.trail ?? ''}`;
  header += ' '.repeat((8 - (enc.encode(header).length % 8)) % 8);
  const content = file(header, bytes(...chunks.map((c) => [...c])));
  const n = enc.encode(header).length;
  return { content, headerLength: n, expected: expected.map((e) => ({ ...e, offset: 8 + n + e.begin })) };
}

// ---------------------------------------------------------------------------------------------------------------
// Every case of the reference's empirical results (safetensors 0.8.0), with the verdict the reference gave

const OK = `{"a":${t('F32', [2], 0, 8)}}`;
type Expect = { accept: [string, string, number[], number][] } | { code: ErrorCode; tensor?: string };
const evidence: { name: string; reference: 'ACCEPT' | 'REJECT'; content: Uint8Array; expect: Expect }[] = [
  { name: 'ok', reference: 'ACCEPT', content: file(OK, 8), expect: { accept: [['a', 'F32', [2], 8]] } },
  // The two cases where we are stricter than the reference on purpose: duplicate tensor names are ambiguous.
  { name: 'dup_top_identical', reference: 'ACCEPT', content: file(`{"a":${t('F32', [2], 0, 8)},"a":${t('F32', [2], 0, 8)}}`, 8), expect: { code: 'ST_DUPLICATE_KEY' } },
  { name: 'dup_top_different_dtype', reference: 'ACCEPT', content: file(`{"a":${t('F32', [2], 0, 8)},"a":${t('I32', [2], 0, 8)}}`, 8), expect: { code: 'ST_DUPLICATE_KEY' } },
  { name: 'dup_field_in_tensor', reference: 'REJECT', content: file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"dtype":"F32"}}', 8), expect: { code: 'ST_DUPLICATE_KEY' } },
  { name: 'unknown_field_in_tensor', reference: 'ACCEPT', content: file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":{"x":[1,2.5,null,"s"]}}}', 8), expect: { accept: [['a', 'F32', [2], 8]] } },
  { name: 'offset_8.0', reference: 'REJECT', content: file(`{"a":${t('F32', [2], 0, '8.0')}}`, 8), expect: { code: 'ST_INVALID_ENTRY', tensor: 'a' } },
  { name: 'offset_8e0', reference: 'REJECT', content: file(`{"a":${t('F32', [2], 0, '8e0')}}`, 8), expect: { code: 'ST_INVALID_ENTRY', tensor: 'a' } },
  { name: 'offset_negative', reference: 'REJECT', content: file(`{"a":${t('F32', [2], -8, 0)}}`, 8), expect: { code: 'ST_INVALID_ENTRY', tensor: 'a' } },
  { name: 'offsets_len3', reference: 'REJECT', content: file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}', 8), expect: { code: 'ST_INVALID_ENTRY', tensor: 'a' } },
  { name: 'shape_negative', reference: 'REJECT', content: file(`{"a":${t('F32', [-2], 0, 8)}}`, 8), expect: { code: 'ST_INVALID_ENTRY', tensor: 'a' } },
  { name: 'dtype_lowercase', reference: 'REJECT', content: file(`{"a":${t('f32', [2], 0, 8)}}`, 8), expect: { code: 'ST_UNKNOWN_DTYPE', tensor: 'a' } },
  { name: 'dtype_unknown_F128', reference: 'REJECT', content: file(`{"a":${t('F128', [2], 0, 32)}}`, 32), expect: { code: 'ST_UNKNOWN_DTYPE', tensor: 'a' } },
  { name: 'metadata_int_value', reference: 'REJECT', content: file(`{"__metadata__":{"k":1},"a":${t('F32', [2], 0, 8)}}`, 8), expect: { code: 'ST_INVALID_ENTRY' } },
  { name: 'metadata_nested', reference: 'REJECT', content: file(`{"__metadata__":{"k":{}},"a":${t('F32', [2], 0, 8)}}`, 8), expect: { code: 'ST_INVALID_ENTRY' } },
  { name: 'metadata_null', reference: 'ACCEPT', content: file(`{"__metadata__":null,"a":${t('F32', [2], 0, 8)}}`, 8), expect: { accept: [['a', 'F32', [2], 8]] } },
  { name: 'metadata_duplicated', reference: 'REJECT', content: file(`{"__metadata__":{},"__metadata__":{},"a":${t('F32', [2], 0, 8)}}`, 8), expect: { code: 'ST_DUPLICATE_KEY' } },
  { name: 'header_is_array', reference: 'REJECT', content: file('[]'), expect: { code: 'ST_INVALID_ENTRY' } },
  { name: 'leading_whitespace', reference: 'ACCEPT', content: file(` \n\t\r${OK}`, 8), expect: { accept: [['a', 'F32', [2], 8]] } },
  { name: 'trailing_space_pad', reference: 'ACCEPT', content: file(`${OK}       `, 8), expect: { accept: [['a', 'F32', [2], 8]] } },
  { name: 'trailing_nul_pad', reference: 'REJECT', content: file(`${OK}\u0000\u0000\u0000`, 8), expect: { code: 'ST_INVALID_JSON' } },
  { name: 'utf8_bom', reference: 'REJECT', content: file(bytes([0xef, 0xbb, 0xbf], OK), 8), expect: { code: 'ST_INVALID_JSON' } },
  { name: 'non_utf8_byte', reference: 'REJECT', content: file(bytes('{"', [0xff], `a":${t('F32', [2], 0, 8)}}`), 8), expect: { code: 'ST_INVALID_UTF8' } },
  { name: 'gap_between_tensors', reference: 'REJECT', content: file(`{"a":${t('F32', [1], 0, 4)},"b":${t('F32', [1], 8, 12)}}`, 12), expect: { code: 'ST_INVALID_OFFSET', tensor: 'b' } },
  { name: 'overlap', reference: 'REJECT', content: file(`{"a":${t('F32', [2], 0, 8)},"b":${t('F32', [2], 4, 12)}}`, 12), expect: { code: 'ST_INVALID_OFFSET', tensor: 'b' } },
  { name: 'not_starting_at_0', reference: 'REJECT', content: file(`{"a":${t('F32', [2], 4, 12)}}`, 12), expect: { code: 'ST_INVALID_OFFSET', tensor: 'a' } },
  { name: 'unordered_but_contiguous', reference: 'ACCEPT', content: file(`{"b":${t('F32', [1], 4, 8)},"a":${t('F32', [1], 0, 4)}}`, 8), expect: { accept: [['a', 'F32', [1], 4], ['b', 'F32', [1], 4]] } },
  { name: 'trailing_bytes_after_data', reference: 'REJECT', content: file(OK, 9), expect: { accept: [['a', 'F32', [2], 8]] } },
  { name: 'missing_bytes', reference: 'REJECT', content: file(OK, 7), expect: { code: 'ST_INCOMPLETE_BUFFER' } },
  { name: 'dtype_shape_len_mismatch', reference: 'REJECT', content: file(`{"a":${t('I32', [2, 2], 0, 4)}}`, 4), expect: { code: 'ST_TENSOR_INVALID_INFO', tensor: 'a' } },
  { name: 'shape_overflow_u64', reference: 'REJECT', content: file(`{"a":${t('F32', [2, '18446744073709551614'], 0, 8)}}`, 8), expect: { code: 'ST_OVERFLOW', tensor: 'a' } },
  { name: 'zero_size_two_same_offset', reference: 'ACCEPT', content: file(`{"a":${t('F32', [0], 0, 0)},"b":${t('F32', [2, 0], 0, 0)}}`), expect: { accept: [['a', 'F32', [0], 0], ['b', 'F32', [2, 0], 0]] } },
  { name: 'F4_odd_count', reference: 'REJECT', content: file(`{"a":${t('F4', [3], 0, 2)}}`, 2), expect: { code: 'ST_MISALIGNED_SLICE', tensor: 'a' } },
  { name: 'F4_even_count', reference: 'ACCEPT', content: file(`{"a":${t('F4', [4], 0, 2)}}`, 2), expect: { accept: [['a', 'F4', [4], 2]] } },
  { name: 'F6_E2M3_4elems_3bytes', reference: 'ACCEPT', content: file(`{"a":${t('F6_E2M3', [4], 0, 3)}}`, 3), expect: { accept: [['a', 'F6_E2M3', [4], 3]] } },
  { name: 'scalar_shape_empty', reference: 'ACCEPT', content: file(`{"a":${t('F64', [], 0, 8)}}`, 8), expect: { accept: [['a', 'F64', [], 8]] } },
  { name: 'empty_name', reference: 'ACCEPT', content: file(`{"":${t('F32', [2], 0, 8)}}`, 8), expect: { accept: [['', 'F32', [2], 8]] } },
  { name: 'name___proto__', reference: 'ACCEPT', content: file(`{"__proto__":${t('F32', [2], 0, 8)}}`, 8), expect: { accept: [['__proto__', 'F32', [2], 8]] } },
  { name: 'name_with_NUL_escape', reference: 'ACCEPT', content: file(`{"a\\u0000b":${t('F32', [2], 0, 8)}}`, 8), expect: { accept: [['a\u0000b', 'F32', [2], 8]] } },
  { name: 'name_lone_surrogate_escape', reference: 'REJECT', content: file(`{"\\ud800":${t('F32', [2], 0, 8)}}`, 8), expect: { code: 'ST_INVALID_JSON' } },
  { name: 'C64', reference: 'ACCEPT', content: file(`{"a":${t('C64', [1], 0, 8)}}`, 8), expect: { accept: [['a', 'C64', [1], 8]] } },
  { name: 'F8_E8M0', reference: 'ACCEPT', content: file(`{"a":${t('F8_E8M0', [1], 0, 1)}}`, 1), expect: { accept: [['a', 'F8_E8M0', [1], 1]] } },
  { name: 'F8_E4M3FNUZ', reference: 'ACCEPT', content: file(`{"a":${t('F8_E4M3FNUZ', [1], 0, 1)}}`, 1), expect: { accept: [['a', 'F8_E4M3FNUZ', [1], 1]] } },
  { name: 'header_len_0', reference: 'REJECT', content: file(''), expect: { code: 'ST_INVALID_JSON' } },
  { name: 'header_empty_object', reference: 'ACCEPT', content: file('{}'), expect: { accept: [] } },
  { name: 'empty_file', reference: 'REJECT', content: new Uint8Array(0), expect: { code: 'ST_HEADER_TOO_SMALL' } },
  { name: 'len_gt_file', reference: 'REJECT', content: file('{}', 0, 1000n), expect: { code: 'ST_INVALID_HEADER_LENGTH' } },
  { name: 'len_u64_max', reference: 'REJECT', content: file('{}', 0, 2n ** 64n - 1n), expect: { code: 'ST_HEADER_TOO_LARGE' } },
  { name: 'len_100MB+1', reference: 'REJECT', content: file('{}', 0, 100_000_001n), expect: { code: 'ST_HEADER_TOO_LARGE' } },
];

for (const c of evidence) {
  test(`reference case ${c.name}: reference ${c.reference}, ours ${'code' in c.expect ? c.expect.code : 'ACCEPT'}`, async () => {
    if ('accept' in c.expect) {
      const { checkpoint } = await openBytes(c.content);
      assert.deepEqual(summary(checkpoint), c.expect.accept);
    } else {
      const e = await rejectsWith(c.content, c.expect.code);
      if (c.expect.tensor !== undefined) assert.equal(e.details?.tensor, c.expect.tensor);
    }
  });
}

test('we differ from the reference only on duplicate top-level names and bytes after the last tensor (read, and reported by the health check)', () => {
  const differing = evidence.filter((c) => (c.reference === 'ACCEPT') !== 'accept' in c.expect).map((c) => c.name);
  assert.deepEqual(differing, ['dup_top_identical', 'dup_top_different_dtype', 'trailing_bytes_after_data']);
  assert.equal(evidence.length, 48);
});

// ---------------------------------------------------------------------------------------------------------------
// One test per error code

test('ST_HEADER_TOO_SMALL: fewer than 8 bytes', async () => {
  for (let n = 0; n < 8; n++) {
    const e = await rejectsWith(new Uint8Array(n).fill(0x20), 'ST_HEADER_TOO_SMALL');
    assert.equal(e.details?.fileSize, n);
  }
});

test('ST_HEADER_TOO_LARGE: N above 100000000, compared as a u64 without rounding', async () => {
  for (const n of [BigInt(MAX_HEADER_SIZE) + 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
    const e = await rejectsWith(file('{}', 0, n), 'ST_HEADER_TOO_LARGE');
    assert.equal(e.details?.headerLength, n.toString());
  }
});

test('ST_INVALID_HEADER_LENGTH: N runs past the end of the file, before anything is allocated', async () => {
  const e = await rejectsWith(file('{}', 0, BigInt(MAX_HEADER_SIZE)), 'ST_INVALID_HEADER_LENGTH');
  assert.equal(e.message, 'the header declares 100000000 bytes but the file has 10 bytes: the file is truncated or not a safetensors file');
  await rejectsWith(file('{}', 0, 3n), 'ST_INVALID_HEADER_LENGTH');
});

test('ST_INVALID_UTF8: names the byte where the bad sequence starts', async () => {
  const cases: [number[], number][] = [
    [[0xff], 0],
    [[0x80], 0],
    [[0xc0, 0x80], 0], // overlong
    [[0xe0, 0x80, 0x80], 0], // overlong
    [[0xed, 0xa0, 0x80], 0], // UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0xf5, 0x80, 0x80, 0x80], 0],
    [[0xc3, 0xa9, 0xe2, 0x82], 2], // truncated after a valid é
  ];
  for (const [bad, at] of cases) {
    const e = await rejectsWith(file(bytes('{"', bad, '":{}}')), 'ST_INVALID_UTF8');
    assert.equal(e.details?.byte, 8 + 2 + at, JSON.stringify(bad));
  }
});

test('ST_INVALID_JSON: syntax errors give the character position', async () => {
  const e = await rejectsWith(file('{"a":1,,}'), 'ST_INVALID_JSON');
  assert.equal(e.details?.position, 7);
  assert.match(e.message, /^the header is not valid JSON \(unexpected ',', expected a string key at character 7\)/);
});

test('ST_DUPLICATE_KEY: tensor names, fields, __metadata__ and metadata keys', async () => {
  let e = await rejectsWith(file(`{"w":${t('F32', [1], 0, 4)},"w":${t('F32', [1], 0, 4)}}`, 4), 'ST_DUPLICATE_KEY');
  assert.equal(e.message, 'tensor "w" appears twice in the header: the file is ambiguous, so it is refused');
  e = await rejectsWith(file('{"w":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}', 4), 'ST_DUPLICATE_KEY');
  assert.equal(e.message, 'tensor "w" has the field "shape" twice: the file is ambiguous, so it is refused');
  e = await rejectsWith(file('{"__metadata__":{"k":"1","k":"2"}}'), 'ST_DUPLICATE_KEY');
  assert.equal(e.message, 'metadata key "k" appears twice in the header: the file is ambiguous, so it is refused');
  e = await rejectsWith(file('{"__metadata__":null,"__metadata__":null}'), 'ST_DUPLICATE_KEY');
  assert.match(e.message, /two __metadata__ entries/);
  assert.equal(e.details?.key, '__metadata__');
});

test('ST_INVALID_ENTRY: the header and each entry must have the reference schema', async () => {
  const cases: [string, RegExp][] = [
    ['"x"', /the header is a string, not a JSON object/],
    ['1', /the header is a number/],
    ['null', /the header is null/],
    ['true', /the header is a boolean/],
    ['{"__metadata__":[]}', /__metadata__ is an array/],
    ['{"__metadata__":"x"}', /__metadata__ is a string/],
    ['{"__metadata__":{"k":true}}', /metadata value "k" is a boolean, not a string/],
    ['{"__metadata__":{"k":null}}', /metadata value "k" is null/],
    ['{"a":null}', /tensor "a" is described by null, not an object/],
    ['{"a":["F32",[0],[0,0]]}', /tensor "a" is described by an array/],
    ['{"a":{"shape":[0],"data_offsets":[0,0]}}', /tensor "a" has no dtype/],
    ['{"a":{"dtype":"F32","data_offsets":[0,0]}}', /tensor "a" has no shape/],
    ['{"a":{"dtype":"F32","shape":[0]}}', /tensor "a" has no data_offsets/],
    ['{"a":{"dtype":32,"shape":[0],"data_offsets":[0,0]}}', /dtype that is a number/],
    ['{"a":{"dtype":"F32","shape":0,"data_offsets":[0,0]}}', /shape that is a number/],
    ['{"a":{"dtype":"F32","shape":{},"data_offsets":[0,0]}}', /shape that is an object/],
    [`{"a":${t('F32', [1.5], 0, 0)}}`, /a dimension 1\.5, not a non-negative integer/],
    [`{"a":${t('F32', ['"2"'], 0, 8)}}`, /a dimension "2"/],
    [`{"a":${t('F32', ['null'], 0, 0)}}`, /a dimension null/],
    [`{"a":${t('F32', ['-0'], 0, 0)}}`, /a dimension -0/],
    [`{"a":${t('F32', [0], '"0"', '"0"')}}`, /a data offset "0"/],
    [`{"a":${t('F32', [0], '-0', 0)}}`, /a data offset -0/],
    [`{"a":${t('F32', [0], '-9007199254740993', 0)}}`, /a data offset -9007199254740993/],
    ['{"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}}', /data_offsets that are 1 values/],
    ['{"a":{"dtype":"F32","shape":[0],"data_offsets":{"0":0,"1":0}}}', /data_offsets that are an object/],
  ];
  for (const [header, message] of cases) {
    const e = await rejectsWith(file(header), 'ST_INVALID_ENTRY');
    assert.match(e.message, message, header);
  }
});

test('ST_UNKNOWN_DTYPE: unknown, empty, mis-cased and prototype-named dtypes', async () => {
  for (const dtype of ['F128', 'bf16', '', 'F8', 'float32', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const e = await rejectsWith(file(`{"a":${t(dtype, [0], 0, 0)}}`), 'ST_UNKNOWN_DTYPE');
    assert.equal(e.message, `unsupported dtype ${JSON.stringify(dtype)} in tensor "a"`);
    assert.equal(e.details?.dtype, dtype);
  }
});

test('ST_INVALID_OFFSET: gaps, overlaps, identical ranges and reversed ranges name the tensor', async () => {
  let e = await rejectsWith(file(`{"a":${t('F32', [1], 0, 4)},"b":${t('F32', [1], 8, 12)}}`, 12), 'ST_INVALID_OFFSET');
  assert.equal(e.message, 'tensor "b" starts at data byte 8, leaving a gap after byte 4: the file is malformed');
  e = await rejectsWith(file(`{"a":${t('F32', [2], 0, 8)},"b":${t('F32', [2], 0, 8)}}`, 8), 'ST_INVALID_OFFSET');
  assert.match(e.message, /inside another tensor that ends at byte 8: tensors must not overlap/);
  e = await rejectsWith(file(`{"a":${t('F32', [1], 0, 4)},"b":${t('F32', [1], 4, 0)}}`, 8), 'ST_INVALID_OFFSET');
  assert.equal(e.details?.tensor, 'b');
  assert.match(e.message, /\[4, 0\], which end before they start/);
  e = await rejectsWith(file(`{"a":${t('F32', [2], 8, 16)}}`, 16), 'ST_INVALID_OFFSET');
  assert.equal(e.details?.expectedBegin, 0);
});

test('ST_OVERFLOW: size arithmetic past u64, and integers beyond 2^53', async () => {
  // 2^40 * 2^40 overflows before the 0 is reached, as in Rust's checked_mul fold.
  await rejectsWith(file(`{"a":${t('U8', [2 ** 40, 2 ** 40, 0], 0, 0)}}`), 'ST_OVERFLOW');
  // numel fits (2^61) but numel * 64 bits does not.
  await rejectsWith(file(`{"a":${t('F64', [2 ** 31, 2 ** 30], 0, 0)}}`), 'ST_OVERFLOW');
  // numel * 8 bits is exactly 2^64.
  await rejectsWith(file(`{"a":${t('U8', [2 ** 31, 2 ** 30], 0, 0)}}`), 'ST_OVERFLOW');
  const e = await rejectsWith(file(`{"a":${t('U8', ['9007199254740993'], 0, 0)}}`), 'ST_OVERFLOW');
  assert.equal(e.details?.value, '9007199254740993');
  await rejectsWith(file(`{"a":${t('U8', [1], 0, '9007199254740993')}}`, 1), 'ST_OVERFLOW');
});

test('ST_MISALIGNED_SLICE: sub-byte dtypes must fill whole bytes', async () => {
  await rejectsWith(file(`{"a":${t('F6_E2M3', [3], 0, 2)}}`, 2), 'ST_MISALIGNED_SLICE');
  await rejectsWith(file(`{"a":${t('F4', [1, 1], 0, 1)}}`, 1), 'ST_MISALIGNED_SLICE');
});

test('ST_TENSOR_INVALID_INFO: byte range must be exactly dtype x shape', async () => {
  const e = await rejectsWith(file(`{"a":${t('F16', [3], 0, 8)}}`, 8), 'ST_TENSOR_INVALID_INFO');
  assert.equal(e.message, 'tensor "a" occupies 8 bytes but F16 with shape [3] needs 6: the file is malformed');
  await rejectsWith(file(`{"a":${t('U8', [2 ** 31, 2 ** 29], 0, 8)}}`, 8), 'ST_TENSOR_INVALID_INFO');
});

test('ST_INCOMPLETE_BUFFER: bytes missing are refused; bytes after the last tensor are counted and said', async () => {
  const e = await rejectsWith(file(OK, 5), 'ST_INCOMPLETE_BUFFER');
  assert.match(e.message, /the file is truncated \(3 bytes missing\)$/);
  assert.equal(e.details?.missing, 3);
  const { checkpoint } = await openBytes(file(OK, 12));
  assert.equal(checkpoint.facts?.trailingBytes, 4);
  assert.match(checkpoint.notes.join('\n'), /4 bytes after the last tensor belong to no tensor/);
});

test('IO_ERROR: a missing file; NOT_A_MODEL: a directory (only regular files are read)', async () => {
  const missing = join(dir, 'does-not-exist.safetensors');
  await assert.rejects(openSafetensors(missing), (e: unknown) => e instanceof ModeldiffError && e.code === 'IO_ERROR' && e.file === missing);
  const folder = join(dir, 'folder.safetensors');
  mkdirSync(folder);
  await assert.rejects(openSafetensors(folder), (e: unknown) => e instanceof ModeldiffError && e.code === 'NOT_A_MODEL' && e.file === folder && /folder, not a regular file/.test(e.message));
});

test('CANCELLED: an aborted signal stops before reading', async () => {
  const path = join(dir, 'cancel.safetensors');
  writeFileSync(path, file(OK, 8));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(openSafetensors(path, ac.signal), (e: unknown) => e instanceof ModeldiffError && e.code === 'CANCELLED');
});

// ---------------------------------------------------------------------------------------------------------------
// One test per reference rule

test('R1: at least 8 bytes', async () => {
  await rejectsWith(bytes([2, 0, 0, 0, 0, 0, 0]), 'ST_HEADER_TOO_SMALL');
  await rejectsWith(bytes([0, 0, 0, 0, 0, 0, 0, 0]), 'ST_INVALID_JSON');
});

test('R2: N is a u64 capped at 100000000 inclusive', async () => {
  await rejectsWith(file('{}', 0, BigInt(MAX_HEADER_SIZE) + 1n), 'ST_HEADER_TOO_LARGE');
  // At the limit it is judged against the file size instead, and N = 0 reaches the JSON parser.
  await rejectsWith(file('{}', 0, BigInt(MAX_HEADER_SIZE)), 'ST_INVALID_HEADER_LENGTH');
  await rejectsWith(file(''), 'ST_INVALID_JSON');
});

test('R3: 8 + N must fit in the file; a header reaching the last byte is fine', async () => {
  await rejectsWith(file('{}', 0, 3n), 'ST_INVALID_HEADER_LENGTH');
  const { checkpoint } = await openBytes(file('{}'));
  assert.equal(checkpoint.sizeBytes, 10);
  assert.throws(() => parseSafetensorsHeader(enc.encode('{}'), 9, 'x'), (e: unknown) => e instanceof ModeldiffError && e.code === 'ST_INVALID_HEADER_LENGTH');
});

test('R4: the header is UTF-8, decoded strictly; raw non-ASCII names are fine', async () => {
  await rejectsWith(file(bytes('{"', [0xc3], '":{}}')), 'ST_INVALID_UTF8');
  const { checkpoint } = await openBytes(file(`{"é😀":${t('U8', [1], 0, 1)}}`, 1));
  assert.equal(checkpoint.tensors[0]!.name, 'é😀');
});

test('R5: schema, integers only, whitespace only around the object, unknown fields ignored', async () => {
  const { checkpoint } = await openBytes(
    file(`\r\n {"__metadata__":{"format":"pt","k":"v"},"a":{"extra":[[{}]],"data_offsets":[0,2],"shape":[1],"dtype":"BF16","more":1.5}}\t\n`, 2),
  );
  assert.deepEqual(summary(checkpoint), [['a', 'BF16', [1], 2]]);
  assert.deepEqual({ ...checkpoint.metadata }, { format: 'pt', k: 'v' });
  await rejectsWith(file(`${OK}x`, 8), 'ST_INVALID_JSON');
  await rejectsWith(file(`{"a":${t('F32', [2], 0, '8.5')}}`, 8), 'ST_INVALID_ENTRY');
});

test('R6: order in the file does not matter; tensors come back in data order with absolute offsets', async () => {
  const header = `{"c":${t('U8', [3], 5, 8)},"a":${t('U8', [2], 0, 2)},"b":${t('U8', [3], 2, 5)}}`;
  const { checkpoint, path } = await openBytes(file(header, 8));
  const n = enc.encode(header).length;
  assert.deepEqual(
    checkpoint.tensors.map((x) => [x.name, x.offset, x.byteLength, x.file]),
    [
      ['a', 8 + n, 2, path],
      ['b', 8 + n + 2, 3, path],
      ['c', 8 + n + 5, 3, path],
    ],
  );
});

test('R7: contiguous from 0, no gaps, no overlaps', async () => {
  await rejectsWith(file(`{"a":${t('U8', [1], 1, 2)}}`, 2), 'ST_INVALID_OFFSET');
  await rejectsWith(file(`{"a":${t('U8', [2], 0, 2)},"b":${t('U8', [2], 1, 3)}}`, 3), 'ST_INVALID_OFFSET');
  await rejectsWith(file(`{"a":${t('U8', [1], 0, 1)},"b":${t('U8', [1], 2, 3)}}`, 3), 'ST_INVALID_OFFSET');
});

test('R8: element and bit counts use checked u64 arithmetic, left to right', async () => {
  // A zero first makes the product 0 before anything large is multiplied in: accepted, as by the reference.
  const { checkpoint } = await openBytes(file(`{"a":${t('U8', [0, 2 ** 40, 2 ** 40], 0, 0)}}`));
  assert.equal(checkpoint.tensors[0]!.numel, 0);
  await rejectsWith(file(`{"a":${t('U8', [2 ** 40, 2 ** 40, 0], 0, 0)}}`), 'ST_OVERFLOW');
});

test('R9: bits must come to whole bytes', async () => {
  const { checkpoint } = await openBytes(file(`{"a":${t('F4', [2, 3], 0, 3)},"b":${t('F6_E3M2', [4], 3, 6)}}`, 6));
  assert.deepEqual(summary(checkpoint), [['a', 'F4', [2, 3], 3], ['b', 'F6_E3M2', [4], 3]]);
  await rejectsWith(file(`{"a":${t('F6_E3M2', [1], 0, 1)}}`, 1), 'ST_MISALIGNED_SLICE');
});

test('R10: end - begin equals the size from dtype and shape', async () => {
  await rejectsWith(file(`{"a":${t('BOOL', [2], 0, 1)}}`, 1), 'ST_TENSOR_INVALID_INFO');
  const { checkpoint } = await openBytes(file(`{"a":${t('BOOL', [], 0, 1)}}`, 1));
  assert.equal(checkpoint.tensors[0]!.numel, 1);
});

test('R11: data must reach the end of the file (bytes after it are read as trailing, see above)', async () => {
  await rejectsWith(file(OK, 0), 'ST_INCOMPLETE_BUFFER');
  assert.equal((await openBytes(file(OK, 9))).checkpoint.facts?.trailingBytes, 1);
});

test('R12: zero-size tensors, several at one offset, anywhere in the data', async () => {
  const header = `{"z1":${t('F16', [0, 4], 4, 4)},"b":${t('U8', [4], 4, 8)},"a":${t('U8', [4], 0, 4)},"z2":${t('I64', [7, 0], 4, 4)},"z3":${t('F4', [0], 8, 8)}}`;
  const { checkpoint } = await openBytes(file(header, 8));
  assert.deepEqual(
    checkpoint.tensors.map((x) => [x.name, x.numel, x.byteLength]),
    [
      ['a', 4, 4],
      ['z1', 0, 0],
      ['z2', 0, 0],
      ['b', 4, 4],
      ['z3', 0, 0],
    ],
  );
});

test('R13: rank-0 tensors hold one element', async () => {
  const { checkpoint } = await openBytes(file(`{"s":${t('I32', [], 0, 4)}}`, 4));
  assert.deepEqual(checkpoint.tensors[0]!.shape, []);
  assert.equal(checkpoint.tensors[0]!.numel, 1);
});

test('R14: {} with no data is a valid file', async () => {
  const { checkpoint } = await openBytes(file('{}'));
  assert.deepEqual(checkpoint.tensors, []);
  assert.deepEqual({ ...checkpoint.metadata }, {});
  assert.equal((await openBytes(file('{}', 1))).checkpoint.facts?.trailingBytes, 1);
});

test('R15: tensor values are never looked at (NaN and Inf bytes are fine)', async () => {
  const nanInf = bytes([0x00, 0x00, 0xc0, 0x7f, 0x00, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x80, 0xff]);
  const { checkpoint } = await openBytes(file(`{"a":${t('F32', [3], 0, 12)}}`, nanInf));
  assert.equal(checkpoint.tensors[0]!.numel, 3);
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile names, huge N, truncation, trailing bytes

test('__proto__ and constructor names stay inert, in tensors and in metadata', async () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  const header =
    '{"__metadata__":{"__proto__":"x","constructor":"y","toString":"z"},' +
    `"__proto__":${t('F32', [1], 0, 4)},"constructor":${t('F32', [1], 4, 8)},"prototype":${t('F32', [1], 8, 12)},"hasOwnProperty":${t('F32', [1], 12, 16)}}`;
  const { checkpoint } = await openBytes(file(header, 16));
  assert.deepEqual(
    checkpoint.tensors.map((x) => x.name),
    ['__proto__', 'constructor', 'prototype', 'hasOwnProperty'],
  );
  const md = checkpoint.metadata;
  assert.equal(Object.getPrototypeOf(md), null);
  assert.deepEqual(Object.keys(md), ['__proto__', 'constructor', 'toString']);
  assert.equal(md.__proto__, 'x');
  // Copying the metadata with a string-valued __proto__ cannot change a prototype either.
  assert.equal(Object.getPrototypeOf(Object.assign({}, md)), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
  assert.equal(({} as Record<string, unknown>).dtype, undefined);
});

test('a tensor name up to the limit is kept whole; a longer one is refused (MODEL_LIMIT), shortened in the message', async () => {
  const longest = 'n'.repeat(MAX_TENSOR_NAME_LENGTH);
  const { checkpoint } = await openBytes(file(`{"${longest}":${t('U8', [1], 0, 1)}}`, 1));
  assert.equal(checkpoint.tensors[0]!.name, longest);
  const e = await rejectsWith(file(`{"${longest}":${t('U8', [2], 0, 1)}}`, 1), 'ST_TENSOR_INVALID_INFO');
  assert.ok(e.message.length < 300);
  assert.equal(e.details?.tensor, longest);
  const huge = await rejectsWith(file(`{"${'n'.repeat(100_000)}":${t('U8', [1], 0, 1)}}`, 1), 'MODEL_LIMIT');
  assert.ok(huge.message.length < 300 && /100000 characters/.test(huge.message), huge.message);
  assert.ok(JSON.stringify(huge.toJSON()).length < 1000, 'the error carries no copy of the name');
});

test('every truncation of a valid file is refused with a typed error', async () => {
  const { content } = writeSafetensors(
    [
      { name: 'w', dtype: 'F16', shape: [2, 3] },
      { name: 'b', dtype: 'F32', shape: [3] },
    ],
    [['k', 'v']],
  );
  const n = Number(new DataView(content.buffer).getBigUint64(0, true));
  for (let len = 0; len < content.length; len++) {
    const expected = len < 8 ? 'ST_HEADER_TOO_SMALL' : len < 8 + n ? 'ST_INVALID_HEADER_LENGTH' : 'ST_INCOMPLETE_BUFFER';
    const e = await rejectsWith(content.subarray(0, len), expected);
    if (expected === 'ST_INCOMPLETE_BUFFER') assert.match(e.message, /truncated/);
  }
});

test('bytes appended after a valid file (a polyglot) are never read as tensors: counted for the health check', async () => {
  const { content } = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4] }]);
  const { checkpoint } = await openBytes(bytes([...content], 'PK\u0003\u0004 zip appended'));
  assert.equal(checkpoint.facts?.trailingBytes, 17);
  assert.deepEqual(checkpoint.tensors.map((t) => t.name), ['w']);
});

test('a header of one tensor more than the limit is refused before it is built (MODEL_LIMIT)', () => {
  const count = MAX_TENSORS_PER_MODEL + 1;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`"t${i}":${t('U8', [1], i, i + 1)}`);
  assert.throws(
    () => parseBytes(file(`{${parts.join(',')}}`, count)),
    (e: unknown) => e instanceof ModeldiffError && e.code === 'MODEL_LIMIT' && /tensors, more than 100000/.test(e.message) && e.file === 'mem.safetensors',
  );
});

test('a header of as many tensors as allowed parses in bounded time', () => {
  const count = MAX_TENSORS_PER_MODEL;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`"model.diffusion_model.blocks.${i}.weight":${t('F16', [1], 2 * (count - 1 - i), 2 * (count - i))}`);
  const content = file(`{${parts.join(',')}}`, 2 * count);
  const started = performance.now();
  const header = parseBytes(content);
  assert.equal(header.tensors.length, count);
  assert.equal(header.tensors[0]!.name, `model.diffusion_model.blocks.${count - 1}.weight`);
  assert.ok(performance.now() - started < 10_000);
});

// ---------------------------------------------------------------------------------------------------------------
// parseSafetensorsHeader, sniffSafetensors, openSafetensors round trip

test('parseSafetensorsHeader is pure and puts the path in errors', () => {
  const content = file(OK, 8);
  const header = parseBytes(content, 'some/where.safetensors');
  assert.equal(header.headerLength, enc.encode(OK).length);
  assert.deepEqual(header.tensors[0], {
    name: 'a',
    dtype: 'F32',
    shape: [2],
    numel: 2,
    file: 'some/where.safetensors',
    offset: 8 + header.headerLength,
    byteLength: 8,
  });
  assert.throws(
    () => parseBytes(file(`{"a":${t('F32', [3], 0, 8)}}`, 8), 'p.safetensors'),
    (e: unknown) => e instanceof ModeldiffError && e.code === 'ST_TENSOR_INVALID_INFO' && e.file === 'p.safetensors',
  );
  assert.throws(
    () => parseBytes(file('{"a":1,}'), 'q.safetensors'),
    (e: unknown) => e instanceof ModeldiffError && e.code === 'ST_INVALID_JSON' && e.file === 'q.safetensors',
  );
});

test('sniffSafetensors: cheap yes/no from the first bytes', () => {
  const valid = file(OK, 8);
  assert.equal(sniffSafetensors(valid.subarray(0, 16), valid.length), true);
  assert.equal(sniffSafetensors(valid, valid.length), true);
  const padded = file(`        ${OK}`, 8);
  assert.equal(sniffSafetensors(padded.subarray(0, 16), padded.length), true, 'leading whitespace is legal');
  assert.equal(sniffSafetensors(padded.subarray(0, 24), padded.length), true);
  assert.equal(sniffSafetensors(file('{}'), 10), true);
  assert.equal(sniffSafetensors(file('[]'), 10), false);
  assert.equal(sniffSafetensors(file('  '), 10), false, 'a header of only whitespace');
  assert.equal(sniffSafetensors(file('{'), 9), false, 'N below 2');
  assert.equal(sniffSafetensors(file('{}', 0, 1000n), 10), false, 'N past the end of the file');
  assert.equal(sniffSafetensors(file('{}', 0, 2n ** 64n - 1n), 2 ** 40), false);
  assert.equal(sniffSafetensors(file('{}', 0, 100_000_001n), 2 ** 40), false);
  assert.equal(sniffSafetensors(bytes('PK\u0003\u0004', [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1000), false);
  assert.equal(sniffSafetensors(bytes([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x93]), 1000), false);
  assert.equal(sniffSafetensors(new Uint8Array(8), 100), false);
});

test('a file written like the reference writer round-trips through openSafetensors', async () => {
  const specs: Spec[] = [
    { name: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F16', shape: [320, 4, 3, 3] },
    { name: 'model.diffusion_model.input_blocks.0.0.bias', dtype: 'F32', shape: [320] },
    { name: 'first_stage_model.quant_conv.weight', dtype: 'BF16', shape: [8, 8, 1, 1] },
    { name: 'cond_stage_model.transformer.text_model.embeddings.position_ids', dtype: 'I64', shape: [1, 77] },
    { name: 'alphas_cumprod', dtype: 'F64', shape: [] },
    { name: 'empty', dtype: 'U8', shape: [0] },
  ];
  const { content, expected } = writeSafetensors(specs, [
    ['format', 'pt'],
    ['modelspec.title', 'tëst 😀'],
  ]);
  const { path, checkpoint } = await openBytes(content);
  assert.equal(checkpoint.path, path);
  assert.equal(checkpoint.format, 'safetensors');
  assert.equal(checkpoint.naming, 'ldm');
  assert.deepEqual(checkpoint.notes, []);
  assert.equal(checkpoint.sizeBytes, content.length);
  assert.deepEqual({ ...checkpoint.metadata }, { format: 'pt', 'modelspec.title': 'tëst 😀' });
  const byName = new Map(checkpoint.tensors.map((x) => [x.name, x]));
  assert.equal(byName.size, specs.length);
  for (const { spec, offset, data } of expected) {
    const ref = byName.get(spec.name)!;
    assert.deepEqual(
      { dtype: ref.dtype, shape: ref.shape, numel: ref.numel, offset: ref.offset, byteLength: ref.byteLength, file: ref.file },
      { dtype: spec.dtype, shape: spec.shape, numel: spec.shape.reduce((a, b) => a * b, 1), offset, byteLength: data.length, file: path },
    );
    assert.deepEqual(content.subarray(ref.offset, ref.offset + ref.byteLength), data);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const dtypeArb = fc.constantFrom(...(Object.keys(DTYPES) as DType[]).filter(isDType));
const specsArb = fc
  .uniqueArray(
    fc.record({
      name: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', '', '__metadata__x')),
      dtype: dtypeArb,
      shape: fc.array(fc.nat(6), { maxLength: 4 }),
    }),
    { selector: (s) => s.name, maxLength: 12 },
  )
  // Sub-byte dtypes need shapes that fill whole bytes.
  .map((specs) => specs.map((s) => (((s.shape.reduce((a, b) => a * b, 1) * dtypeBits(s.dtype)) % 8 === 0 ? s : { ...s, dtype: 'U8' as DType }))));
const metadataArb = fc.option(fc.uniqueArray(fc.tuple(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 })), { selector: (kv) => kv[0], maxLength: 4 }), { nil: undefined });
const padArb = fc.record({ lead: fc.stringMatching(/^[ \t\r\n]{0,3}$/), trail: fc.stringMatching(/^[ \t\r\n]{0,3}$/) });

test('property: random valid headers round-trip', (t) => {
  const seed = testSeed(t, SEED);
  fc.assert(
    fc.property(specsArb, metadataArb, padArb, (specs, metadata, pad) => {
      const { content, expected, headerLength } = writeSafetensors(specs, metadata, pad);
      const header = parseBytes(content, 'p');
      assert.equal(header.headerLength, headerLength);
      assert.deepEqual({ ...header.metadata }, Object.fromEntries((metadata ?? []).map(([k, v]) => [k, v])));
      assert.equal(header.tensors.length, specs.length);
      const got = new Map(header.tensors.map((x) => [x.name, x]));
      for (const { spec, offset, data } of expected) {
        const ref = got.get(spec.name)!;
        assert.deepEqual([ref.dtype, ref.shape, ref.byteLength], [spec.dtype, spec.shape, data.length]);
        // Zero-size tensors may share an offset with their neighbours, in any order.
        if (data.length > 0) assert.equal(ref.offset, offset);
      }
    }),
    { seed, numRuns: 300 },
  );
});

test('property: mutated files give a checkpoint or a ModeldiffError, never another exception', async (t) => {
  const seed = testSeed(t, SEED);
  const edit = fc.record({
    kind: fc.constantFrom('set', 'insert', 'delete'),
    at: fc.nat(),
    byte: fc.oneof(
      { arbitrary: fc.constantFrom(...enc.encode('"{}[],:0123456789-.eE\\u \u0000')), weight: 6 },
      { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
    ),
  });
  const apply = (target: number[], edits: readonly { kind: string; at: number; byte: number }[]) => {
    for (const { kind, at: raw, byte } of edits) {
      const at = raw % (target.length + 1);
      if (kind === 'set' && at < target.length) target[at] = byte;
      else if (kind === 'insert') target.splice(at, 0, byte);
      else if (kind === 'delete') target.splice(at, 1);
    }
  };
  const path = join(dir, 'mutated.safetensors');
  await fc.assert(
    fc.asyncProperty(
      specsArb,
      metadataArb,
      // Edits to the header text, after which the length prefix is usually rewritten to match.
      fc.array(edit, { maxLength: 3 }),
      fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
      fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 1 }),
      // Edits to the raw file bytes, length prefix included.
      fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, { arbitrary: fc.array(edit, { minLength: 1, maxLength: 2 }), weight: 1 }),
      async (specs, metadata, headerEdits, fixLength, dataDelta, rawEdits) => {
        const { content, headerLength } = writeSafetensors(specs, metadata);
        const header = [...content.subarray(8, 8 + headerLength)];
        apply(header, headerEdits);
        let data = [...content.subarray(8 + headerLength)];
        data = dataDelta < 0 ? data.slice(0, Math.max(0, data.length + dataDelta)) : data.concat(new Array<number>(dataDelta).fill(7));
        const mutated = [...file(Uint8Array.from(header), Uint8Array.from(data), fixLength ? undefined : BigInt(headerLength))];
        apply(mutated, rawEdits);
        writeFileSync(path, Uint8Array.from(mutated));
        try {
          const checkpoint = await openSafetensors(path);
          let end = 0;
          for (const x of checkpoint.tensors) {
            assert.ok(x.offset >= end && x.offset + x.byteLength <= mutated.length);
            end = x.offset + x.byteLength;
          }
        } catch (e) {
          assert.ok(e instanceof ModeldiffError, `escaped: ${String(e)}`);
          assert.ok(e.code.startsWith('ST_'), e.code);
        }
      },
    ),
    { seed, numRuns: 300 },
  );
});
