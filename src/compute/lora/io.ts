import type { TensorRef } from '../model/checkpoint';
import { bytesPerElement } from '../model/dtypes';
import { decodableToF64, decodeToF64 } from '../engine/decodeF64';
import { FileHandles } from '../io/fileHandles';
import { ModeldiffError } from '../../shared/errors';
import { readTensorElements } from '../io/tensorBytes';

export { FileHandles };

/** Elements read per positioned read when a tensor is read in pieces. */
const PIECE_ELEMENTS = 1 << 18;

/** True when the values of `ref` can be read exactly as float64 numbers. */
export function readableAsF64(ref: TensorRef): boolean {
  return decodableToF64(ref.dtype) && bytesPerElement(ref.dtype) !== undefined;
}

/**
 * Elements [start, start+count) of a tensor (C order) as float64, into `out` (a new array when absent). Read by
 * byte range in pieces, so a slice of a large tensor never reads the rest of it.
 */
export function readF64(files: FileHandles, ref: TensorRef, start = 0, count = ref.numel, out?: Float64Array): Float64Array {
  if (!readableAsF64(ref)) throw new ModeldiffError('LORA_UNSUPPORTED', `tensor "${ref.name}" is ${ref.dtype}, which cannot be read as numbers here`, { file: ref.file });
  if (start < 0 || count < 0 || start + count > ref.numel) throw new ModeldiffError('ENGINE_INTERNAL', `read of elements [${start}, ${start + count}) of "${ref.name}" (${ref.numel} elements)`, { file: ref.file });
  const dst = out ?? new Float64Array(count);
  const esize = bytesPerElement(ref.dtype)!;
  const piece = Math.min(count, PIECE_ELEMENTS);
  const raw = new Uint8Array(piece * esize);
  const fd = files.get(ref.file);
  for (let done = 0; done < count; ) {
    const n = Math.min(piece, count - done);
    readTensorElements(fd, ref, start + done, n, raw, 0);
    decodeToF64(ref.dtype, raw, n, dst.subarray(done, done + n));
    done += n;
  }
  return dst;
}
