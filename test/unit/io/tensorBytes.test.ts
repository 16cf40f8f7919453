import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { isContiguous, readTensorElements } from '../../../src/compute/io/tensorBytes';
import { tmpDir } from '../../helpers/tmp';

const dir = tmpDir();
// A storage of 64 int16 values 0..63 after a 10-byte prefix.
const file = join(dir, 'storage.bin');
const storage = Buffer.alloc(10 + 128);
for (let i = 0; i < 64; i++) storage.writeInt16LE(i, 10 + 2 * i);
writeFileSync(file, storage);

function ref(shape: number[], strides: number[] | undefined, offsetElems: number, byteOrder?: 'big'): TensorRef {
  const numel = shape.reduce((a, b) => a * b, 1);
  return { name: 't', dtype: 'I16', shape, numel, file, offset: 10 + 2 * offsetElems, byteLength: numel * 2, ...(strides ? { strides } : {}), ...(byteOrder ? { byteOrder } : {}) };
}

function read(r: TensorRef, start = 0, count = r.numel): number[] {
  const fd = openSync(file, 'r');
  try {
    const out = new Uint8Array(count * 2);
    readTensorElements(fd, r, start, count, out, 0);
    return Array.from({ length: count }, (_, i) => Buffer.from(out.buffer).readInt16LE(2 * i));
  } finally {
    closeSync(fd);
  }
}

test('contiguous ranges read straight', () => {
  assert.deepEqual(read(ref([4, 4], undefined, 3)), Array.from({ length: 16 }, (_, i) => i + 3));
  assert.deepEqual(read(ref([4, 4], undefined, 0), 5, 6), [5, 6, 7, 8, 9, 10]);
});

test('a transposed view is gathered in C order, whole and by range', () => {
  // 4x4 storage viewed transposed: element (i, j) = storage[j*4 + i]
  const t = ref([4, 4], [1, 4], 0);
  const expected = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
  assert.deepEqual(read(t), expected);
  assert.deepEqual(read(t, 3, 7), expected.slice(3, 10));
});

test('a strided slice with an offset (every other row, columns 1..2)', () => {
  const t = ref([3, 2], [16, 1], 1); // rows 0, 2, 4 of an 8-wide storage (stride 16), columns 1..2
  assert.deepEqual(read(t), [1, 2, 17, 18, 33, 34]);
  assert.deepEqual(read(t, 1, 4), [2, 17, 18, 33]);
});

test('big-endian storages are swapped to little-endian', () => {
  const be = join(dir, 'be.bin');
  const b = Buffer.alloc(8);
  [1, 2, 3, 4].forEach((v, i) => b.writeInt16BE(v, 2 * i));
  writeFileSync(be, b);
  const fd = openSync(be, 'r');
  const out = new Uint8Array(8);
  readTensorElements(fd, { name: 'b', dtype: 'I16', shape: [4], numel: 4, file: be, offset: 0, byteLength: 8, byteOrder: 'big' }, 0, 4, out, 0);
  closeSync(fd);
  assert.deepEqual([0, 1, 2, 3].map((i) => Buffer.from(out.buffer).readInt16LE(2 * i)), [1, 2, 3, 4]);
});

test('a file shorter than its header said is FILE_CHANGED (truncated while it was read), naming the tensor', () => {
  assert.throws(() => read(ref([100], undefined, 0)), (e: { code?: string; message: string }) => e.code === 'FILE_CHANGED' && /"t"/.test(e.message));
});

test('contiguity is decided from strides, ignoring size-1 dimensions', () => {
  assert.ok(isContiguous([2, 3], [3, 1]));
  assert.ok(isContiguous([2, 1, 3], [3, 99, 1]));
  assert.ok(!isContiguous([2, 3], [1, 2]));
});
