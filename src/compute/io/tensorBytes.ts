import { readSync } from 'node:fs';
import { bytesPerElement, DTYPES } from '../model/dtypes';
import type { TensorRef } from '../model/checkpoint';
import { ModeldiffError } from '../../shared/errors';

/** A strided view whose whole extent is at most this many bytes is read in one go and gathered in memory. */
const SPAN_READ_LIMIT = 16 * 1024 * 1024;
/** Bytes of view extents kept between calls. */
const SPAN_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Reads elements [start, start+count) of a tensor, in C order, into dst[dstOffset...] as little-endian bytes.
 * Contiguous tensors are one positioned read; tensors made of parts one read per part touched; strided views
 * (PyTorch) are gathered. `fd` must be an open descriptor of ref.file. Returns the number of tensor bytes delivered.
 */
export function readTensorElements(fd: number, ref: TensorRef, start: number, count: number, dst: Uint8Array, dstOffset: number): number {
  const esize = bytesPerElement(ref.dtype);
  if (esize === undefined) {
    // Sub-byte types are packed; only whole-tensor reads make sense.
    if (start !== 0 || count !== ref.numel) throw new ModeldiffError('ENGINE_INTERNAL', `cannot read a slice of packed ${ref.dtype} tensor "${ref.name}"`);
    readFully(fd, dst, dstOffset, ref.byteLength, ref.offset, ref);
    return ref.byteLength;
  }
  if (count === 0) return 0;
  if (ref.parts) {
    readParts(fd, ref, start * esize, count * esize, dst, dstOffset);
  } else if (!ref.strides || isContiguous(ref.shape, ref.strides)) {
    readFully(fd, dst, dstOffset, count * esize, ref.offset + start * esize, ref);
  } else {
    gather(fd, ref, esize, start, count, dst, dstOffset);
  }
  if (ref.byteOrder === 'big' && esize > 1) {
    // A complex number is two floats, each swapped on its own.
    const unit = DTYPES[ref.dtype].kind === 'complex' ? esize / 2 : esize;
    swapBytes(dst, dstOffset, (count * esize) / unit, unit);
  }
  return count * esize;
}

export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && strides[d]! !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Reads exactly `length` bytes at `position`; a short file is an IO_ERROR naming the tensor and the file. */
export function readFully(fd: number, dst: Uint8Array, dstOffset: number, length: number, position: number, ref: TensorRef): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, dst, dstOffset + done, length - done, position + done);
    if (n === 0) {
      throw new ModeldiffError('FILE_CHANGED', `the file ended while reading tensor ${JSON.stringify(ref.name)}: it was truncated or changed while it was read`, {
        file: ref.file,
        details: { offset: position + done, wanted: length - done },
      });
    }
    done += n;
  }
}

/** Bytes [from, from+length) of the concatenation of the parts. */
function readParts(fd: number, ref: TensorRef, from: number, length: number, dst: Uint8Array, dstOffset: number): void {
  let partStart = 0;
  let written = 0;
  for (const part of ref.parts!) {
    const partEnd = partStart + part.byteLength;
    const a = Math.max(from + written, partStart);
    const b = Math.min(from + length, partEnd);
    if (a < b) {
      readFully(fd, dst, dstOffset + written, b - a, part.offset + (a - partStart), ref);
      written += b - a;
    }
    if (written === length) return;
    partStart = partEnd;
  }
  throw new ModeldiffError('ENGINE_INTERNAL', `tensor "${ref.name}" has parts shorter than the range read`, { file: ref.file });
}

/**
 * Reads a strided view. A small view is read whole and gathered from memory; a large one by runs along the
 * innermost dimension when its stride is 1, else element by element.
 */
function gather(fd: number, ref: TensorRef, esize: number, start: number, count: number, dst: Uint8Array, dstOffset: number): void {
  const shape = ref.shape;
  const strides = ref.strides!;
  const rank = shape.length;
  let extent = 1;
  for (let d = 0; d < rank; d++) extent += (shape[d]! - 1) * strides[d]!;
  const spanBytes = extent * esize;
  let span = spans.get(ref);
  if (!span && spanBytes <= SPAN_READ_LIMIT) {
    span = new Uint8Array(spanBytes);
    readFully(fd, span, 0, spanBytes, ref.offset, ref);
    rememberSpan(ref, span);
  }
  const copy = (elemOffset: number, n: number, at: number): void => {
    if (span) dst.set(span.subarray(elemOffset * esize, (elemOffset + n) * esize), dstOffset + at * esize);
    else readFully(fd, dst, dstOffset + at * esize, n * esize, ref.offset + elemOffset * esize, ref);
  };

  const inner = rank === 0 ? 1 : shape[rank - 1]!;
  const innerStride = rank === 0 ? 1 : strides[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let rem = start;
  for (let d = rank - 1; d >= 0; d--) {
    index[d] = rem % shape[d]!;
    rem = Math.floor(rem / shape[d]!);
  }
  let written = 0;
  while (written < count) {
    let elemOffset = 0;
    for (let d = 0; d < rank; d++) elemOffset += index[d]! * strides[d]!;
    const posInner = rank === 0 ? 0 : index[rank - 1]!;
    const run = Math.min(inner - posInner, count - written);
    if (innerStride === 1) copy(elemOffset, run, written);
    else for (let k = 0; k < run; k++) copy(elemOffset + k * innerStride, 1, written + k);
    written += run;
    if (rank === 0) break;
    index[rank - 1] = posInner + run;
    for (let d = rank - 1; d > 0 && index[d]! >= shape[d]!; d--) {
      index[d] = 0;
      index[d - 1]!++;
    }
  }
}

/**
 * The extents of the last strided views read, by TensorRef object: the engine reads a tensor chunk by chunk, and
 * a transposed view touches its whole extent in every chunk.
 */
const spans = new Map<TensorRef, Uint8Array>();
let spanBytesHeld = 0;

function rememberSpan(ref: TensorRef, span: Uint8Array): void {
  spans.set(ref, span);
  spanBytesHeld += span.length;
  while (spanBytesHeld > SPAN_CACHE_BYTES) {
    const [oldest, bytes] = spans.entries().next().value!;
    spans.delete(oldest);
    spanBytesHeld -= bytes.length;
  }
}

function swapBytes(buf: Uint8Array, offset: number, count: number, unit: number): void {
  for (let i = 0; i < count; i++) {
    const p = offset + i * unit;
    for (let a = p, b = p + unit - 1; a < b; a++, b--) {
      const t = buf[a]!;
      buf[a] = buf[b]!;
      buf[b] = t;
    }
  }
}
