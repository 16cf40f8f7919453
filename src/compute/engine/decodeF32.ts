import type { DType } from '../model/dtypes';
import type { Kernels } from '../kernels/types';

/** Dtypes whose values decode exactly into float32, so the float32 kernels can take them. */
export const F32_DTYPES: ReadonlySet<DType> = new Set<DType>(['F16', 'BF16', 'F32', 'F8_E4M3', 'F8_E5M2']);

/** Decodes n elements at src into float32 at dst, both in the kernels' memory. */
export function decodeToF32(k: Kernels, dtype: DType, src: number, dst: number, n: number): void {
  switch (dtype) {
    case 'F32':
      k.u8().copyWithin(dst, src, src + n * 4);
      return;
    case 'F16':
      return k.decodeF16(src, dst, n);
    case 'BF16':
      return k.decodeBF16(src, dst, n);
    case 'F8_E4M3':
      return k.decodeF8E4M3(src, dst, n);
    case 'F8_E5M2':
      return k.decodeF8E5M2(src, dst, n);
    default:
      throw new Error(`no float32 decoder for ${dtype}`);
  }
}
