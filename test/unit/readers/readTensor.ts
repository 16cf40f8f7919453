import { closeSync, openSync } from 'node:fs';
import type { TensorRef } from '../../../src/compute/model/checkpoint';
import { readTensorElements } from '../../../src/compute/io/tensorBytes';

/** Every element of a tensor as little-endian bytes in C order, read the way the engine reads it. */
export function readTensor(ref: TensorRef): Buffer {
  const fd = openSync(ref.file, 'r');
  try {
    const buf = Buffer.alloc(ref.byteLength);
    readTensorElements(fd, ref, 0, ref.numel, buf, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}
