import { closeSync, openSync } from 'node:fs';
import type { TensorRef } from '../../src/compute/model/checkpoint';
import { isQuantised, readQuantElements } from '../../src/compute/io/readQuant';
import { readTensorElements } from '../../src/compute/io/tensorBytes';
import { createKernels } from '../../src/compute/kernels';
import { dequantizeToF32, dequantScratchBytes } from '../../src/compute/quant/dequantize';
import { maxRawBytes } from '../../src/compute/quant/layout';
import { decodeValues } from '../oracle/float64';

/**
 * Every value of a tensor as the engine would see it: quantised tensors read by ranges of `chunk` elements and
 * dequantised by the kernels; plain ones decoded by the oracle's decoder.
 */
export function tensorValues(ref: TensorRef, chunk = 512, kernels: 'wasm' | 'reference' = 'wasm'): Float64Array {
  const fd = openSync(ref.file, 'r');
  try {
    if (!isQuantised(ref)) {
      const buf = new Uint8Array(ref.byteLength);
      readTensorElements(fd, ref, 0, ref.numel, buf, 0);
      return decodeValues(ref.dtype, buf);
    }
    const k = createKernels(kernels);
    const raw = 0;
    const dst = Math.ceil(maxRawBytes(ref.quant, chunk) / 16) * 16;
    const scratch = dst + chunk * 4;
    k.reserve(scratch + dequantScratchBytes(ref.quant, chunk));
    const out = new Float64Array(ref.numel);
    for (let start = 0; start < ref.numel; start += chunk) {
      const n = Math.min(chunk, ref.numel - start);
      readQuantElements(fd, ref, start, n, k.u8(), raw);
      dequantizeToF32(k, ref, raw, dst, start, n, scratch);
      out.set(k.f32().subarray(dst / 4, dst / 4 + n), start);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
