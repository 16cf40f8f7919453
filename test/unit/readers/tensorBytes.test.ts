// readTensorElements for what the PyTorch and diffusers readers produce: tensors made of parts, big-endian complex
// numbers, and strided views read chunk by chunk (in memory when small, from disk when their extent is large).
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { readTensorElements } from '../../../src/compute/io/tensorBytes';
import { tmpDir } from '../../helpers/tmp';

const dir = tmpDir();

function fileWith(name: string, bytes: Uint8Array, size = bytes.length): string {
  const p = join(dir, name);
  const fd = openSync(p, 'w');
  writeSync(fd, bytes);
  ftruncateSync(fd, size);
  closeSync(fd);
  return p;
}

function read(ref: TensorRef, start: number, count: number, esize: number): Uint8Array {
  const fd = openSync(ref.file, 'r');
  try {
    const out = new Uint8Array(count * esize);
    assert.equal(readTensorElements(fd, ref, start, count, out, 0), count * esize);
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads in chunks of `chunk` elements and joins them. */
function readChunked(ref: TensorRef, chunk: number, esize: number): Uint8Array {
  const out = new Uint8Array(ref.numel * esize);
  for (let s = 0; s < ref.numel; s += chunk) out.set(read(ref, s, Math.min(chunk, ref.numel - s), esize), s * esize);
  return out;
}

describe('readTensorElements', () => {
  it('tensors made of parts read as their concatenation, for any element range', () => {
    // file: [pad 3][k: 4 bytes][junk 5][q: 4 bytes][v: 4 bytes]; the tensor is q, k, v.
    const bytes = Uint8Array.of(0, 0, 0, 10, 11, 12, 13, 99, 99, 99, 99, 99, 20, 21, 22, 23, 30, 31, 32, 33);
    const file = fileWith('parts.bin', bytes);
    const ref: TensorRef = {
      name: 'in_proj',
      dtype: 'U8',
      shape: [3, 4],
      numel: 12,
      file,
      offset: 12,
      byteLength: 12,
      parts: [
        { offset: 12, byteLength: 4 },
        { offset: 3, byteLength: 4 },
        { offset: 16, byteLength: 4 },
      ],
    };
    const whole = [20, 21, 22, 23, 10, 11, 12, 13, 30, 31, 32, 33];
    for (let s = 0; s < 12; s++) for (let c = 0; s + c <= 12; c++) assert.deepEqual([...read(ref, s, c, 1)], whole.slice(s, s + c), `${s}+${c}`);
  });

  it('big-endian complex numbers are swapped float by float', () => {
    const le = new Uint8Array(new Float32Array([1.5, -2, 3.25, 4]).buffer);
    const be = le.slice();
    for (let p = 0; p < be.length; p += 4) be.subarray(p, p + 4).reverse();
    const ref: TensorRef = { name: 'c', dtype: 'C64', shape: [2], numel: 2, file: fileWith('c64.bin', be), offset: 0, byteLength: 16, byteOrder: 'big' };
    assert.deepEqual(read(ref, 0, 2, 8), le);
    assert.deepEqual(read(ref, 1, 1, 8), le.subarray(8));
  });

  it('a transposed view reads the same in chunks as whole, from memory or from disk', () => {
    const rows = 40;
    const cols = 30;
    const values = new Float32Array(rows * cols).map((_, i) => i * 0.5);
    const file = fileWith('matrix.bin', new Uint8Array(values.buffer));
    const ref: TensorRef = { name: 't', dtype: 'F32', shape: [cols, rows], numel: rows * cols, file, offset: 0, byteLength: rows * cols * 4, strides: [1, cols] };
    const expected = new Float32Array(rows * cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) expected[i * rows + j] = values[j * cols + i]!;
    for (const chunk of [1, 7, 64, rows * cols]) assert.deepEqual(new Float32Array(readChunked(ref, chunk, 4).buffer), expected, `chunk ${chunk}`);
  });

  it('a view whose extent is larger than the in-memory limit is gathered from disk', () => {
    // Two rows 5,000,000 elements apart: a 20 MB extent, of which 16 bytes are read.
    const stride = 5_000_000;
    const head = new Uint8Array(new Float32Array([1, 2]).buffer);
    const p = join(dir, 'sparse.bin');
    const fd = openSync(p, 'w');
    writeSync(fd, head, 0, 8, 0);
    writeSync(fd, new Uint8Array(new Float32Array([3, 4]).buffer), 0, 8, stride * 4);
    ftruncateSync(fd, stride * 4 + 8);
    closeSync(fd);
    const ref: TensorRef = { name: 'far', dtype: 'F32', shape: [2, 2], numel: 4, file: p, offset: 0, byteLength: 16, strides: [stride, 1] };
    assert.deepEqual([...new Float32Array(read(ref, 0, 4, 4).buffer)], [1, 2, 3, 4]);
    const cols: TensorRef = { ...ref, shape: [2, 2], strides: [1, stride] };
    assert.deepEqual([...new Float32Array(read(cols, 0, 4, 4).buffer)], [1, 3, 2, 4]);
  });
});
