import type { FileHandle } from 'node:fs/promises';
import type { Checkpoint, TensorRef } from '../../model/checkpoint';
import { dtypeBits, isDType, type DType } from '../../model/dtypes';
import { ModeldiffError, throwIfAborted, toModeldiffError, type ErrorCode } from '../../../shared/errors';
import { JsonFloat, parseStrictJson, type JsonValue } from '../strictJson';
import { fileChanged, openRegularFile } from '../../io/regularFile';
import { checkTensorCount, checkTensorName, MAX_TENSORS_PER_MODEL, tooManyTensors } from '../../model/limits';

/**
 * safetensors reader: an 8-byte little-endian header length N, N bytes of JSON, then the tensor bytes.
 * It applies every check of the reference reader (huggingface/safetensors `read_metadata` + `Metadata::validate`)
 * and, on purpose, refuses duplicate keys, which the reference resolves silently (last one wins).
 */

/** The reference reader's cap on N (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_SIZE = 100_000_000;

const U64_MAX = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface SafetensorsHeader {
  /** In data order (sorted by offsets), which is also the order to read them in. */
  tensors: TensorRef[];
  /** `__metadata__`, in a null-prototype object. */
  metadata: Record<string, string>;
  /** N, the byte length of the JSON header. */
  headerLength: number;
  /** bytes after the last tensor: the reference reader refuses such a file ("incomplete metadata, file not fully
   *  covered", what ComfyUI users see); here its tensors are read and the health check reports the bytes */
  trailingBytes: number;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Cheap format check on the first bytes of a file (at least 16 when the file has them). */
export function sniffSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  if (n < 2n || n > BigInt(MAX_HEADER_SIZE) || 8n + n > BigInt(fileSize)) return false;
  const end = Math.min(head.length, 8 + Number(n));
  for (let i = 8; i < end; i++) {
    const b = head[i]!;
    if (b === 0x7b) return true;
    if (!isJsonWhitespace(b)) return false;
  }
  // Only whitespace so far: a padded header is plausible unless it was all whitespace.
  return end < 8 + Number(n);
}

/** Opens a safetensors file from its header alone; tensor bytes are never read here. */
export async function openSafetensors(path: string, signal?: AbortSignal): Promise<Checkpoint> {
  throwIfAborted(signal);
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegularFile(path);
    handle = opened.handle;
    const size = opened.identity.size;
    if (size < 8) tooSmall(size, path);
    const prefix = await readAt(handle, 0, 8, path);
    const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
    checkHeaderLength(n, size, path);
    throwIfAborted(signal);
    const headerBytes = await readAt(handle, 8, Number(n), path);
    throwIfAborted(signal);
    const { tensors, metadata, trailingBytes } = parseSafetensorsHeader(headerBytes, size, path);
    const notes = trailingBytes > 0 ? [trailingNote(trailingBytes)] : [];
    const facts = trailingBytes > 0 ? { trailingBytes } : undefined;
    return { path, format: 'safetensors', sizeBytes: size, tensors, metadata, notes, files: [{ path, identity: opened.identity }], naming: 'ldm', ...(facts ? { facts } : {}) };
  } catch (e) {
    throw toModeldiffError(e, path);
  } finally {
    await handle?.close();
  }
}

/**
 * Validates the JSON header of a file of `fileSize` bytes and lays out its tensors (absolute offsets).
 * Pure: `headerBytes` are bytes 8..8+N of the file.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, path: string): SafetensorsHeader {
  const n = headerBytes.length;
  checkHeaderLength(BigInt(n), fileSize, path);
  const root = parseJson(decodeUtf8(headerBytes, path), path);
  if (!(root instanceof Map)) {
    fail('ST_INVALID_ENTRY', `the header is ${kind(root)}, not a JSON object: this is not a safetensors file`, path);
  }
  const entries: Entry[] = [];
  let metadata: Record<string, string> = Object.create(null);
  for (const [name, value] of root) {
    if (name === '__metadata__') metadata = readMetadata(value, path);
    else entries.push(readEntry(name, value, path));
  }
  checkTensorCount(entries.length, path);
  return { ...layOut(entries, n, fileSize, path), metadata, headerLength: n };
}

/** What a person is told about bytes after the last tensor. */
export function trailingNote(bytes: number): string {
  return `${bytes} bytes after the last tensor belong to no tensor: the safetensors library refuses such a file ("incomplete metadata, file not fully covered" in ComfyUI and diffusers); its tensors were read as declared`;
}

function checkHeaderLength(n: bigint, fileSize: number, path: string): void {
  if (fileSize < 8) tooSmall(fileSize, path);
  if (n > BigInt(MAX_HEADER_SIZE)) {
    fail(
      'ST_HEADER_TOO_LARGE',
      `the header declares ${n} bytes, more than the ${MAX_HEADER_SIZE} safetensors allows: the file is damaged or not a safetensors file`,
      path,
      { headerLength: n.toString(), limit: MAX_HEADER_SIZE },
    );
  }
  if (8n + n > BigInt(fileSize)) {
    fail(
      'ST_INVALID_HEADER_LENGTH',
      `the header declares ${n} bytes but the file has ${fileSize} bytes: the file is truncated or not a safetensors file`,
      path,
      { headerLength: Number(n), fileSize },
    );
  }
}

function tooSmall(fileSize: number, path: string): never {
  fail('ST_HEADER_TOO_SMALL', `the file has ${fileSize} bytes, too few for a safetensors header: it is empty or truncated`, path, {
    fileSize,
  });
}

// ignoreBOM keeps a leading U+FEFF in the text so the JSON parser refuses it, as the reference does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const byte = 8 + firstInvalidUtf8(bytes);
    fail('ST_INVALID_UTF8', `the header is not valid UTF-8 (file byte ${byte}): the file is damaged or not a safetensors file`, path, {
      byte,
    });
  }
}

/** Index of the first byte that starts an ill-formed UTF-8 sequence (Unicode table 3-7). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= more; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += more + 1;
  }
  return b.length;
}

function parseJson(text: string, path: string): JsonValue {
  if (text.charCodeAt(0) === 0xfeff) {
    fail('ST_INVALID_JSON', 'the header starts with a byte order mark, which safetensors does not allow: the file was altered or is not a safetensors file', path, {
      position: 0,
    });
  }
  try {
    // the root holds the tensors and __metadata__: stop at the tensor limit before building the rest
    return parseStrictJson(text, { maxMembers: MAX_TENSORS_PER_MODEL + 1 });
  } catch (e) {
    if (!(e instanceof ModeldiffError)) throw e;
    const details = e.details ?? {};
    if (e.code === 'MODEL_LIMIT') {
      if (details.depth === 0) throw tooManyTensors(path);
      fail('MODEL_LIMIT', `the header has an object or array of more than ${MAX_TENSORS_PER_MODEL + 1} members (character ${String(details.position)}): it is refused (see "Limits" in the README)`, path, details);
    }
    const message =
      e.code === 'ST_DUPLICATE_KEY'
        ? duplicateMessage(String(details.key), (details.path as (string | number)[] | undefined) ?? [])
        : `the header is not valid JSON (${String(details.reason)} at character ${String(details.position)}): the file is damaged or not a safetensors file`;
    throw new ModeldiffError(e.code, message, { details, file: path });
  }
}

function duplicateMessage(key: string, at: (string | number)[]): string {
  const refusal = 'the file is ambiguous, so it is refused';
  if (at.length === 0) {
    if (key === '__metadata__') return `the header has two __metadata__ entries: ${refusal}`;
    return `tensor ${quote(key)} appears twice in the header: ${refusal}`;
  }
  if (at[0] === '__metadata__' && at.length === 1) return `metadata key ${quote(key)} appears twice in the header: ${refusal}`;
  if (at.length === 1) return `tensor ${quote(String(at[0]))} has the field ${quote(key)} twice: ${refusal}`;
  return `the header repeats the key ${quote(key)} under ${quote(String(at[0]))}: ${refusal}`;
}

function readMetadata(value: JsonValue, path: string): Record<string, string> {
  const metadata: Record<string, string> = Object.create(null);
  if (value === null) return metadata;
  if (!(value instanceof Map)) {
    fail('ST_INVALID_ENTRY', `__metadata__ is ${kind(value)}, not an object of strings: the file is malformed`, path);
  }
  for (const [key, v] of value) {
    if (typeof v !== 'string') {
      fail('ST_INVALID_ENTRY', `metadata value ${quote(key)} is ${kind(v)}, not a string: the file is malformed`, path, { key });
    }
    metadata[key] = v;
  }
  return metadata;
}

/** One tensor entry; fields other than dtype, shape and data_offsets are ignored, as the reference does. */
function readEntry(name: string, value: JsonValue, path: string): Entry {
  const invalid = (problem: string): never =>
    fail('ST_INVALID_ENTRY', `tensor ${quote(name)} ${problem}: the file is malformed`, path, { tensor: name });
  checkTensorName(name, path);
  if (!(value instanceof Map)) return invalid(`is described by ${kind(value)}, not an object`);

  const dtype = value.get('dtype');
  if (dtype === undefined) return invalid('has no dtype');
  if (typeof dtype !== 'string') return invalid(`has a dtype that is ${kind(dtype)}, not a string`);
  if (!isDType(dtype)) {
    fail('ST_UNKNOWN_DTYPE', `unsupported dtype ${quote(dtype)} in tensor ${quote(name)}`, path, { tensor: name, dtype });
  }

  const shape = value.get('shape');
  if (shape === undefined) return invalid('has no shape');
  if (!Array.isArray(shape)) return invalid(`has a shape that is ${kind(shape)}, not an array`);

  const offsets = value.get('data_offsets');
  if (offsets === undefined) return invalid('has no data_offsets');
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return invalid(`has data_offsets that are ${Array.isArray(offsets) ? `${offsets.length} values` : kind(offsets)}, not [begin, end]`);
  }

  const integer = (v: JsonValue, field: string): number => {
    // The parser returns every integer token as number or bigint; -0 is a float to serde, so it is refused too.
    if (typeof v === 'number' && v >= 0 && !Object.is(v, -0)) return v;
    if (typeof v === 'bigint' && v > 0n) {
      fail('ST_OVERFLOW', `tensor ${quote(name)} has ${field} ${v}, larger than any real file: the file is malformed`, path, {
        tensor: name,
        value: v.toString(),
      });
    }
    return invalid(`has ${field} ${show(v)}, not a non-negative integer`);
  };
  return {
    name,
    dtype,
    shape: shape.map((d) => integer(d, 'a dimension')),
    begin: integer(offsets[0]!, 'a data offset'),
    end: integer(offsets[1]!, 'a data offset'),
  };
}

/**
 * Checks offsets, sizes and coverage (reference `Metadata::validate` order) and returns the tensors in data order.
 * A file shorter than its tensors is refused; bytes after them are counted (the reference refuses those too).
 */
function layOut(entries: Entry[], headerLength: number, fileSize: number, path: string): { tensors: TensorRef[]; trailingBytes: number } {
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + headerLength;
  const tensors: TensorRef[] = [];
  let next = 0;
  for (const e of sorted) {
    if (e.begin !== next || e.end < e.begin) {
      fail('ST_INVALID_OFFSET', offsetMessage(e, next), path, { tensor: e.name, begin: e.begin, end: e.end, expectedBegin: next });
    }
    next = e.end;
    const numel = checkedSize(e, path);
    tensors.push({
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      numel,
      file: path,
      offset: dataStart + e.begin,
      byteLength: e.end - e.begin,
    });
  }
  const expectedSize = dataStart + next;
  if (expectedSize > fileSize) {
    fail(
      'ST_INCOMPLETE_BUFFER',
      `the tensors end at byte ${expectedSize} but the file has ${fileSize} bytes: the file is truncated (${expectedSize - fileSize} bytes missing)`,
      path,
      { expectedSize, fileSize, missing: expectedSize - fileSize },
    );
  }
  return { tensors, trailingBytes: fileSize - expectedSize };
}

function offsetMessage(e: Entry, expected: number): string {
  const t = `tensor ${quote(e.name)}`;
  if (e.end < e.begin) return `${t} has data_offsets [${e.begin}, ${e.end}], which end before they start: the file is malformed`;
  if (e.begin > expected) return `${t} starts at data byte ${e.begin}, leaving a gap after byte ${expected}: the file is malformed`;
  return `${t} starts at data byte ${e.begin}, inside another tensor that ends at byte ${expected}: tensors must not overlap`;
}

/** Element count after checking shape × dtype against the byte range, with the reference's u64 checked arithmetic. */
function checkedSize(e: Entry, path: string): number {
  const bits = dtypeBits(e.dtype);
  let numel = 1;
  for (const d of e.shape) {
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) return checkedSizeBig(e, bits, path);
  }
  const nbits = numel * bits;
  if (nbits > Number.MAX_SAFE_INTEGER) return checkedSizeBig(e, bits, path);
  checkBits(e, nbits % 8 === 0, nbits / 8, path);
  return numel;
}

/** Exact version for products beyond 2^53; overflow is judged at each step, like Rust's `checked_mul` fold. */
function checkedSizeBig(e: Entry, bits: number, path: string): number {
  let numel = 1n;
  for (const d of e.shape) {
    numel *= BigInt(d);
    if (numel > U64_MAX) overflow(e, path);
  }
  const nbits = numel * BigInt(bits);
  if (nbits > U64_MAX) overflow(e, path);
  checkBits(e, nbits % 8n === 0n, Number(nbits / 8n), path);
  // Reachable only with a file of more than 2^50 bytes.
  if (numel > MAX_SAFE) overflow(e, path);
  return Number(numel);
}

function checkBits(e: Entry, wholeBytes: boolean, bytes: number, path: string): void {
  const t = `tensor ${quote(e.name)}`;
  const shape = `[${e.shape.join(', ')}]`;
  if (!wholeBytes) {
    fail('ST_MISALIGNED_SLICE', `${t} (${e.dtype}, shape ${shape}) does not fill a whole number of bytes: the file is malformed`, path, {
      tensor: e.name,
    });
  }
  const actual = e.end - e.begin;
  if (actual !== bytes) {
    fail('ST_TENSOR_INVALID_INFO', `${t} occupies ${actual} bytes but ${e.dtype} with shape ${shape} needs ${bytes}: the file is malformed`, path, {
      tensor: e.name,
      byteLength: actual,
      expectedByteLength: bytes,
    });
  }
}

function overflow(e: Entry, path: string): never {
  fail('ST_OVERFLOW', `tensor ${quote(e.name)} has shape [${e.shape.join(', ')}], too large to size in 64 bits: the file is malformed`, path, {
    tensor: e.name,
  });
}

async function readAt(handle: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw fileChanged(path, 'the file got shorter while its header was read');
    done += bytesRead;
  }
  return buf;
}

function isJsonWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function kind(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof JsonFloat) return 'a number';
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

function show(v: JsonValue): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonFloat) return v.text;
  if (typeof v === 'string') return quote(v);
  return kind(v);
}

/** A name for a message; names are untrusted and can be huge. */
function quote(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

function fail(code: ErrorCode, message: string, path: string, details?: Record<string, unknown>): never {
  throw new ModeldiffError(code, message, { file: path, details });
}
