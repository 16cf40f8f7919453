import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from '../../io/regularFile';
import type { Checkpoint, TensorRef } from '../../model/checkpoint';
import { ModeldiffError, throwIfAborted, toModeldiffError, type ErrorCode } from '../../../shared/errors';
import { ggmlType, removedGgmlType } from '../../quant/ggmlTypes';
import { FileCursor } from '../../io/fileCursor';

/**
 * GGUF reader (ggml-org/ggml `docs/gguf.md`, versions 2 and 3, little-endian), as city96's ComfyUI-GGUF converter
 * writes image models: header, typed key/values, tensor infos, then the data section aligned to
 * `general.alignment`. It keeps the reference reader's rules (ggml `gguf.cpp`: no duplicate keys or tensor names,
 * at most 4 dimensions, rows a whole number of blocks, offsets aligned, sizes in checked arithmetic) and adds its
 * own: tensors inside the file and not overlapping, every count and length bounded by the bytes actually left in
 * the file before anything is allocated.
 *
 * Dimensions are stored innermost first; shapes here are outermost first (the original tensor's shape), or the
 * `comfy.gguf.orig_shape.<name>` override ComfyUI-GGUF writes for tensors it flattened to rows of 256.
 */

export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml refuses larger alignments (a hostile one would pad the data section without bound). */
const MAX_ALIGNMENT = 1 << 20;
const MAX_DIMS = 4;
/** The spec's limit for keys; tensor names get the same (patched llama.cpp builds allow 128). */
const MAX_KEY_BYTES = 65535;
/** String values longer than this are stepped over, not read: only their length is kept. */
const MAX_STRING_VALUE = 1 << 20;
/** Arrays longer than this are stepped over (numbers) or walked without keeping their items (strings). */
const MAX_KEPT_ITEMS = 1024;
const MAX_ARRAY_DEPTH = 3;
const I64_MAX = (1n << 63n) - 1n;
const SHAPE_KEY = 'comfy.gguf.orig_shape.';

export function sniffGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

/** Value types (enum gguf_metadata_value_type) with the fewest bytes one value can take. */
const VALUE_TYPES: readonly { name: string; size: number }[] = [
  { name: 'UINT8', size: 1 },
  { name: 'INT8', size: 1 },
  { name: 'UINT16', size: 2 },
  { name: 'INT16', size: 2 },
  { name: 'UINT32', size: 4 },
  { name: 'INT32', size: 4 },
  { name: 'FLOAT32', size: 4 },
  { name: 'BOOL', size: 1 },
  { name: 'STRING', size: 8 },
  { name: 'ARRAY', size: 12 },
  { name: 'UINT64', size: 8 },
  { name: 'INT64', size: 8 },
  { name: 'FLOAT64', size: 8 },
];
const STRING = 8;
const ARRAY = 9;
const INTEGER_TYPES = new Set(['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64']);

export type GgufValue = number | bigint | boolean | string | { skippedString: number } | GgufArray;
export interface GgufArray {
  itemType: string;
  length: number;
  /** absent when the array was too long to keep */
  items?: GgufValue[];
}
export interface GgufKeyValue {
  type: string;
  value: GgufValue;
}

export interface GgufHeader {
  version: number;
  alignment: number;
  /** absolute offset of the data section */
  dataStart: number;
  keyValues: Map<string, GgufKeyValue>;
  tensors: TensorRef[];
  notes: string[];
}

/** Opens a GGUF file from its header alone; tensor data is never read here. */
export async function openGguf(path: string, signal?: AbortSignal): Promise<Checkpoint> {
  throwIfAborted(signal);
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegularFile(path);
    handle = opened.handle;
    const size = opened.identity.size;
    const header = await readGgufHeader(new FileCursor(handle, size, path, 'GGUF_INVALID'), path, signal);
    return { path, format: 'gguf', sizeBytes: size, tensors: header.tensors, metadata: metadataOf(header.keyValues), notes: header.notes, files: [{ path, identity: opened.identity }], naming: 'ldm' };
  } catch (e) {
    throw toModeldiffError(e, path);
  } finally {
    await handle?.close();
  }
}

export async function readGgufHeader(c: FileCursor, path: string, signal?: AbortSignal): Promise<GgufHeader> {
  const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>): never => {
    throw new ModeldiffError(code, message, { file: path, details });
  };
  if (c.size < 4 || !sniffGguf(await peek(c, 4))) {
    fail('GGUF_BAD_MAGIC', c.size < 4 ? `the file has ${c.size} bytes, too few for a GGUF header` : 'the file does not start with the GGUF magic bytes: it is not a GGUF file');
  }
  await c.need(24, 'the GGUF header');
  c.skip(4);
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    if (version !== 0 && (version & 0xffff) === 0) fail('GGUF_UNSUPPORTED_VERSION', `the header reads as version ${version}: this is a big-endian GGUF file, which this tool does not read`, { version });
    if (version === 1) fail('GGUF_UNSUPPORTED_VERSION', 'this is a GGUF version 1 file, which ggml no longer reads: convert it with a current gguf tool', { version });
    fail('GGUF_UNSUPPORTED_VERSION', `the file is GGUF version ${version}, which is not supported (versions 2 and 3 are)`, { version });
  }
  const tensorCount = c.u64();
  const kvCount = c.u64();
  // Cost follows the file: every key/value takes at least 13 bytes and every tensor info 24.
  const least = kvCount * 13n + tensorCount * 24n;
  if (least > BigInt(c.remaining)) {
    fail('GGUF_INVALID', `the header declares ${tensorCount} tensors and ${kvCount} key/values, which need at least ${least} bytes, but only ${c.remaining} follow: the file is damaged`, {
      tensorCount: tensorCount.toString(),
      keyValueCount: kvCount.toString(),
      remaining: c.remaining,
    });
  }

  const keyValues = new Map<string, GgufKeyValue>();
  const state: ParseState = { kept: 0 };
  for (let i = 0; i < Number(kvCount); i++) {
    if (i % 4096 === 0) throwIfAborted(signal);
    const key = await readString(c, MAX_KEY_BYTES, `key ${i}`, path);
    if (keyValues.has(key)) fail('GGUF_INVALID', `the key ${quote(key)} appears twice: the file is ambiguous, so it is refused`, { key });
    await c.need(4, `the type of ${quote(key)}`);
    const typeId = c.u32();
    const type = VALUE_TYPES[typeId];
    if (!type) fail('GGUF_INVALID', `the key ${quote(key)} has value type ${typeId}, which GGUF does not define`, { key, type: typeId });
    keyValues.set(key, { type: type!.name, value: await readValue(c, typeId, 0, quote(key), path, state) });
  }
  const alignment = alignmentOf(keyValues, path);

  const infos: { name: string; dims: bigint[]; typeId: number; offset: bigint }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < Number(tensorCount); i++) {
    if (i % 4096 === 0) throwIfAborted(signal);
    const name = await readString(c, MAX_KEY_BYTES, `the name of tensor ${i}`, path);
    if (names.has(name)) fail('GGUF_INVALID', `tensor ${quote(name)} appears twice: the file is ambiguous, so it is refused`, { tensor: name });
    names.add(name);
    await c.need(4, `the tensor info of ${quote(name)}`);
    const nDims = c.u32();
    if (nDims > MAX_DIMS) fail('GGUF_INVALID', `tensor ${quote(name)} has ${nDims} dimensions; GGUF allows at most ${MAX_DIMS}`, { tensor: name, dimensions: nDims });
    await c.need(nDims * 8 + 12, `the tensor info of ${quote(name)}`);
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64());
    infos.push({ name, dims, typeId: c.u32(), offset: c.u64() });
  }
  const dataStart = infos.length ? alignUp(c.pos, alignment) : c.pos;
  if (dataStart > c.size) fail('GGUF_INVALID', `the data section would start at byte ${dataStart}, past the end of the file (${c.size} bytes): it is truncated`, { dataStart, fileSize: c.size });

  const shapes = originalShapes(keyValues, path);
  const tensors = infos.map((info) => tensorRef(info, dataStart, alignment, c.size, shapes, path));
  const notes = checkLayout(tensors, dataStart, alignment, c.size, path);
  const unused = [...shapes.keys()].filter((n) => !names.has(n));
  if (unused.length) notes.push(`${unused.length} ${SHAPE_KEY}* entr${unused.length === 1 ? 'y names' : 'ies name'} no tensor of the file (e.g. ${quote(unused[0]!)}): ignored`);
  return { version, alignment, dataStart, keyValues, tensors, notes };
}

async function peek(c: FileCursor, n: number): Promise<Uint8Array> {
  await c.need(n, 'the GGUF header');
  const at = c.pos;
  const b = c.bytes(n).slice();
  c.pos = at;
  return b;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** A key or a name: bounded, and valid UTF-8 (names identify tensors; a replacement character could merge two). */
async function readString(c: FileCursor, max: number, what: string, path: string): Promise<string> {
  const n = await stringLength(c, what, path);
  if (n > max) throw new ModeldiffError('GGUF_INVALID', `${what} is ${n} bytes long, more than the ${max} allowed`, { file: path, details: { length: n } });
  await c.need(n, what);
  try {
    return strictUtf8.decode(c.bytes(n));
  } catch {
    throw new ModeldiffError('GGUF_INVALID', `${what} is not valid UTF-8: the file is damaged`, { file: path });
  }
}

/** Items of arrays kept in memory, over the whole header (a budget, so memory stays small whatever the file holds). */
const MAX_KEPT_TOTAL = 1 << 20;

interface ParseState {
  kept: number;
}

async function readValue(c: FileCursor, typeId: number, depth: number, what: string, path: string, state: ParseState): Promise<GgufValue> {
  const t = VALUE_TYPES[typeId]!;
  if (typeId === ARRAY) return readArray(c, depth, what, path, state);
  if (typeId === STRING) {
    const n = await stringLength(c, `the string ${what}`, path);
    if (n > MAX_STRING_VALUE) {
      c.skip(n);
      return { skippedString: n };
    }
    await c.need(n, `the string ${what}`);
    return lenientUtf8.decode(c.bytes(n));
  }
  await c.need(t.size, `the value of ${what}`);
  switch (t.name) {
    case 'UINT8':
      return c.u8();
    case 'INT8':
      return c.i8();
    case 'UINT16':
      return c.u16();
    case 'INT16':
      return c.i16();
    case 'UINT32':
      return c.u32();
    case 'INT32':
      return c.i32();
    case 'FLOAT32':
      return c.f32();
    case 'UINT64':
      return c.u64();
    case 'INT64':
      return c.i64();
    case 'FLOAT64':
      return c.f64();
    default: {
      const b = c.u8();
      if (b > 1) throw new ModeldiffError('GGUF_INVALID', `the boolean ${what} holds ${b}, neither 0 nor 1: the file is damaged`, { file: path });
      return b === 1;
    }
  }
}

async function readArray(c: FileCursor, depth: number, what: string, path: string, state: ParseState): Promise<GgufArray> {
  await c.need(12, `the array ${what}`);
  const itemId = c.u32();
  const count = c.u64();
  const item = VALUE_TYPES[itemId];
  if (!item) throw new ModeldiffError('GGUF_INVALID', `the array ${what} has items of type ${itemId}, which GGUF does not define`, { file: path });
  if (itemId === ARRAY && depth + 1 >= MAX_ARRAY_DEPTH) {
    throw new ModeldiffError('GGUF_INVALID', `the array ${what} nests arrays more than ${MAX_ARRAY_DEPTH} deep`, { file: path });
  }
  if (count * BigInt(item.size) > BigInt(c.remaining)) {
    throw new ModeldiffError('GGUF_INVALID', `the array ${what} declares ${count} ${item.name} items, more than the ${c.remaining} bytes left in the file can hold: it is damaged`, {
      file: path,
      details: { count: count.toString(), remaining: c.remaining },
    });
  }
  const length = Number(count);
  const keep = length <= MAX_KEPT_ITEMS && state.kept + length <= MAX_KEPT_TOTAL;
  if (!keep && itemId !== STRING && itemId !== ARRAY) {
    c.skip(length * item.size);
    return { itemType: item.name, length };
  }
  if (keep) state.kept += length;
  else if (itemId === STRING) {
    for (let i = 0; i < length; i++) c.skip(await stringLength(c, `the string ${what}[${i}]`, path));
    return { itemType: item.name, length };
  }
  const items: GgufValue[] = [];
  for (let i = 0; i < length; i++) {
    const v = await readValue(c, itemId, depth + 1, `${what}[${i}]`, path, state);
    if (keep) items.push(v);
  }
  return keep ? { itemType: item.name, length, items } : { itemType: item.name, length };
}

/** Reads a string's u64 length, refusing one longer than what is left of the file. */
async function stringLength(c: FileCursor, what: string, path: string): Promise<number> {
  await c.need(8, `the length of ${what}`);
  const len = c.u64();
  if (len > BigInt(c.remaining)) {
    throw new ModeldiffError('GGUF_INVALID', `${what} declares ${len} bytes but only ${c.remaining} remain in the file: it is damaged`, {
      file: path,
      details: { length: len.toString(), remaining: c.remaining },
    });
  }
  return Number(len);
}

function alignmentOf(kv: Map<string, GgufKeyValue>, path: string): number {
  const a = kv.get('general.alignment');
  if (!a) return GGUF_DEFAULT_ALIGNMENT;
  if (a.type !== 'UINT32') throw new ModeldiffError('GGUF_INVALID', `general.alignment is a ${a.type}, not a UINT32: the file is malformed`, { file: path });
  const n = a.value as number;
  if (n === 0 || n > MAX_ALIGNMENT || (n & (n - 1)) !== 0) {
    throw new ModeldiffError('GGUF_INVALID', `general.alignment is ${n}, not a power of two up to ${MAX_ALIGNMENT}: the file is malformed`, { file: path, details: { alignment: n } });
  }
  return n;
}

/** `comfy.gguf.orig_shape.<name>` entries: arrays of non-negative integers. */
function originalShapes(kv: Map<string, GgufKeyValue>, path: string): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [key, { type, value }] of kv) {
    if (!key.startsWith(SHAPE_KEY)) continue;
    const name = key.slice(SHAPE_KEY.length);
    const a = value as GgufArray;
    const bad = (why: string): never => {
      throw new ModeldiffError('GGUF_INVALID', `${quote(key)} ${why}: the shape of ${quote(name)} is unknown, so the file is refused`, { file: path, details: { key } });
    };
    if (type !== 'ARRAY' || !INTEGER_TYPES.has(a.itemType) || !a.items) bad(`is ${type === 'ARRAY' ? `an array of ${a.itemType}` : `a ${type}`}, not a short array of integers`);
    const dims = a.items!.map((v) => (typeof v === 'bigint' ? (v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1) : (v as number)));
    if (dims.some((d) => d < 0)) bad('holds a negative or huge dimension');
    shapes.set(name, dims);
  }
  return shapes;
}

interface Info {
  name: string;
  dims: bigint[];
  typeId: number;
  offset: bigint;
}

function tensorRef(info: Info, dataStart: number, alignment: number, fileSize: number, shapes: Map<string, number[]>, path: string): TensorRef {
  const t = `tensor ${quote(info.name)}`;
  const fail = (code: ErrorCode, message: string, details: Record<string, unknown> = {}): never => {
    throw new ModeldiffError(code, message, { file: path, details: { tensor: info.name, ...details } });
  };
  const type = ggmlType(info.typeId);
  if (!type) {
    const removed = removedGgmlType(info.typeId);
    fail(
      'GGUF_UNSUPPORTED_TYPE',
      removed
        ? `${t} is stored as ${removed} (ggml type ${info.typeId}), a type ggml has removed from GGUF files`
        : `${t} has ggml type id ${info.typeId}, which no ggml version this tool knows defines: it cannot be read`,
      { typeId: info.typeId },
    );
  }
  if (type!.kind === 'unsupported') {
    fail('GGUF_UNSUPPORTED_TYPE', `${t} is stored as ${type!.name} (ggml type ${info.typeId}), which this tool cannot dequantise, so it cannot be compared exactly`, {
      typeId: info.typeId,
      type: type!.name,
    });
  }
  const ty = type as Exclude<typeof type, { kind: 'unsupported' } | undefined>;
  let numel = 1n;
  for (const d of info.dims) {
    if (d > I64_MAX) fail('GGUF_OVERFLOW', `${t} has a dimension of ${d}, beyond what ggml can size: the file is damaged`, { dims: info.dims.map(String) });
    numel *= d;
    if (numel > I64_MAX) fail('GGUF_OVERFLOW', `${t} has dimensions [${info.dims.join(', ')}] whose product overflows 64 bits: the file is damaged`, { dims: info.dims.map(String) });
  }
  const ne0 = info.dims[0] ?? 1n;
  if (ne0 % BigInt(ty.blockElements) !== 0n) {
    fail('GGUF_INVALID', `${t} has rows of ${ne0} values, not a whole number of ${ty.name} blocks of ${ty.blockElements}: the file is malformed`, { rowLength: ne0.toString() });
  }
  const nbytes = (numel / BigInt(ty.blockElements)) * BigInt(ty.blockBytes);
  if (info.offset % BigInt(alignment) !== 0n) {
    fail('GGUF_INVALID_OFFSET', `${t} starts at data byte ${info.offset}, not a multiple of the alignment ${alignment}: the file is malformed`, { offset: info.offset.toString(), alignment });
  }
  const begin = BigInt(dataStart) + info.offset;
  if (begin + nbytes > BigInt(fileSize)) {
    fail('GGUF_INVALID_OFFSET', `${t} (${ty.name}, ${nbytes} bytes at file byte ${begin}) extends past the end of the file (${fileSize} bytes): it is truncated or damaged`, {
      offset: begin.toString(),
      byteLength: nbytes.toString(),
      fileSize,
    });
  }
  const n = Number(numel);
  const stored = info.dims.map(Number).reverse();
  const orig = shapes.get(info.name);
  if (orig && orig.reduce((p, d) => p * d, 1) !== n) {
    fail('GGUF_INVALID', `${t} holds ${n} values but ${SHAPE_KEY}${info.name.length > 60 ? '…' : info.name} gives the shape [${orig.join(', ')}]: the file is malformed`, {
      shape: orig,
      numel: n,
    });
  }
  const ref: TensorRef = { name: info.name, dtype: ty.kind === 'plain' ? ty.dtype : ty.name, shape: orig ?? stored, numel: n, file: path, offset: Number(begin), byteLength: Number(nbytes) };
  if (ty.kind === 'quant') ref.quant = { scheme: 'ggml', type: ty.name, blockElements: ty.blockElements, blockBytes: ty.blockBytes };
  return ref;
}

/** Refuses overlapping tensors; notes bytes of the data section that belong to no tensor (beyond alignment padding). */
function checkLayout(tensors: TensorRef[], dataStart: number, alignment: number, fileSize: number, path: string): string[] {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  let end = dataStart;
  let previous: TensorRef | undefined;
  let unclaimed = 0;
  for (const t of sorted) {
    if (t.offset < end) {
      throw new ModeldiffError('GGUF_INVALID_OFFSET', `tensors ${quote(previous!.name)} and ${quote(t.name)} overlap in the file: it is malformed`, {
        file: path,
        details: { tensors: [previous!.name, t.name] },
      });
    }
    unclaimed += Math.max(0, t.offset - alignUp(end, alignment));
    end = t.offset + t.byteLength;
    previous = t;
  }
  unclaimed += Math.max(0, fileSize - alignUp(end, alignment));
  return unclaimed > 0 ? [`${unclaimed} bytes of the data section belong to no tensor (beyond alignment padding)`] : [];
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Key/values as display strings; the shape overrides are consumed by the reader and left out. */
export function metadataOf(kv: Map<string, GgufKeyValue>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [key, { value }] of kv) {
    if (key.startsWith(SHAPE_KEY)) continue;
    out[key] = show(value);
  }
  return out;
}

const SHOWN_ITEMS = 16;

function show(v: GgufValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if ('skippedString' in v) return `<string of ${v.skippedString} bytes>`;
  if (!v.items || v.length > SHOWN_ITEMS) return `<${v.length} ${v.itemType} values>`;
  return `[${v.items.map((i) => (typeof i === 'string' ? JSON.stringify(i) : show(i))).join(', ')}]`;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}
