import type { TensorRef } from '../model/checkpoint';
import type { QuantEncoding } from '../quant/encoding';
import { rawLayout } from '../quant/layout';
import { readFully } from './tensorBytes';

export type QuantTensorRef = TensorRef & { quant: QuantEncoding };

export function isQuantised(ref: TensorRef): ref is QuantTensorRef {
  return ref.quant !== undefined;
}

/**
 * Reads what elements [start, start+count) of a quantised tensor need (quant/layout.ts: the codes, then any
 * absmax entries) into dst[dstOffset...]. `fd` must be an open descriptor of ref.file. Returns the raw length
 * (for byte identity) and the bytes of the tensor's own codes (for progress, which counts byteLength).
 */
export function readQuantElements(fd: number, ref: QuantTensorRef, start: number, count: number, dst: Uint8Array, dstOffset: number): { rawBytes: number; codeBytes: number } {
  const layout = rawLayout(ref, start, count);
  let at = dstOffset;
  for (const part of layout.parts) {
    readFully(fd, dst, at, part.byteLength, part.offset, ref);
    at += part.byteLength;
  }
  return { rawBytes: layout.byteLength, codeBytes: layout.codeBytes };
}
