import { readSync } from 'node:fs';
import { bytesPerElement } from '../dtypes';
import type { TensorRef } from '../checkpoint';
import { ModeldiffError } from '../errors';

/**
 * Reads elements [start, start+count) of a tensor, in C order, into dst[dstOffset...] as little-endian bytes.
 * Contiguous tensors are one positioned read; strided views (PyTorch) are gathered run by run.
 * `fd` must be an open descriptor of ref.file. Returns the number of bytes read from disk.
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
  if (!ref.strides || isContiguous(ref.shape, ref.strides)) {
    readFully(fd, dst, dstOffset, count * esize, ref.offset + start * esize, ref);
  } else {
    gather(fd, ref, esize, start, count, dst, dstOffset);
  }
  if (ref.byteOrder === 'big' && esize > 1) swapBytes(dst, dstOffset, count, esize);
  return count * esize;
}

export function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && strides[d]! !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

function readFully(fd: number, dst: Uint8Array, dstOffset: number, length: number, position: number, ref: TensorRef): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, dst, dstOffset + done, length - done, position + done);
    if (n === 0) {
      throw new ModeldiffError('IO_ERROR', `the file ended while reading tensor "${ref.name}": it was truncated or changed during the run`, {
        file: ref.file,
        details: { offset: position + done, wanted: length - done },
      });
    }
    done += n;
  }
}

/** Reads a strided view: the innermost dimension with stride 1 is read as runs, anything else element by element. */
function gather(fd: number, ref: TensorRef, esize: number, start: number, count: number, dst: Uint8Array, dstOffset: number): void {
  const shape = ref.shape;
  const strides = ref.strides!;
  const rank = shape.length;
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
    if (innerStride === 1) {
      readFully(fd, dst, dstOffset + written * esize, run * esize, ref.offset + elemOffset * esize, ref);
    } else {
      for (let k = 0; k < run; k++) {
        readFully(fd, dst, dstOffset + (written + k) * esize, esize, ref.offset + (elemOffset + k * innerStride) * esize, ref);
      }
    }
    written += run;
    if (rank === 0) break;
    index[rank - 1] = posInner + run;
    for (let d = rank - 1; d > 0 && index[d]! >= shape[d]!; d--) {
      index[d] = 0;
      index[d - 1]!++;
    }
  }
}

function swapBytes(buf: Uint8Array, offset: number, count: number, esize: number): void {
  for (let i = 0; i < count; i++) {
    const p = offset + i * esize;
    for (let a = p, b = p + esize - 1; a < b; a++, b--) {
      const t = buf[a]!;
      buf[a] = buf[b]!;
      buf[b] = t;
    }
  }
}
