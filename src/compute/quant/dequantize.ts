import type { QuantTensorRef } from '../io/readQuant';
import type { Kernels } from '../kernels/types';
import { BNB_OUT_KIND, bnbAbsmax, FP4_TABLE, NF4_TABLE } from './dequantRef';
import type { QuantEncoding } from './encoding';
import { bnbBlocks } from './layout';

/**
 * Scratch memory dequantizeToF32 needs beside the raw and float32 buffers, for `count` elements (bitsandbytes:
 * the code book and the float32 absmax of the blocks touched). 16-byte multiple.
 */
export function dequantScratchBytes(q: QuantEncoding, count: number): number {
  if (q.scheme !== 'bnb-4bit') return 0;
  return 64 + Math.ceil((Math.ceil(count / q.blockElements) + 1) * 4 / 16) * 16;
}

/**
 * Dequantises elements [start, start+count) of `ref`, read raw at `src` (io/readQuant.ts), into float32 at `dst`,
 * in the kernels' memory. `scratch` (16-byte aligned, dequantScratchBytes of it) must not overlap either.
 */
export function dequantizeToF32(k: Kernels, ref: QuantTensorRef, src: number, dst: number, start: number, count: number, scratch: number): void {
  if (count === 0) return;
  const q = ref.quant;
  switch (q.scheme) {
    case 'ggml':
      return k.dequantGgml(q.type, src, dst, Math.ceil(count / q.blockElements));
    case 'scaled-fp8':
      return q.code === 'F8_E4M3' ? k.decodeF8E4M3Scaled(src, dst, count, q.scale) : k.decodeF8E5M2Scaled(src, dst, count, q.scale);
    case 'bnb-4bit': {
      const codeBytes = Math.ceil((start + count) / 2) - start / 2;
      const absmax = bnbAbsmax(q, k.u8(), src + codeBytes, start, count);
      const table = scratch;
      const am = scratch + 64;
      const f32 = k.f32();
      f32.set(q.type === 'nf4' ? NF4_TABLE : FP4_TABLE, table / 4);
      f32.set(absmax, am / 4);
      const { b0 } = bnbBlocks(q, start, count);
      const shift = Math.log2(q.blockElements);
      return k.dequant4bit(src, table, am, dst, count, start - b0 * q.blockElements, shift, BNB_OUT_KIND[q.outDtype]);
    }
  }
}
