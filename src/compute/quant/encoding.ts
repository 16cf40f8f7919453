/**
 * How a quantised tensor's values are made from the bytes in its file (TensorRef.quant). Readers fill these from
 * headers (and a few small reads: scales, quant states); the engine dequantises element ranges with them.
 *
 * Every value is defined as the float32 its producer computes (ggml's dequantize_row_*, bitsandbytes'
 * dequantize_4bit, ComfyUI's code x scale), so an exact comparison dequantises to the same float32 values first.
 */
import type { DType } from '../model/dtypes';

/** ggml block types this tool dequantises (ids and layouts in ggmlTypes.ts). */
export type GgmlQuantType = 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** A ggml block-quantised tensor (GGUF): blocks of `blockElements` values in `blockBytes` bytes, in C order. */
export interface GgmlEncoding {
  scheme: 'ggml';
  type: GgmlQuantType;
  blockElements: number;
  blockBytes: number;
}

/** fp8 codes times one float32 scale per tensor (ComfyUI scaled fp8 `scale_weight`, and `weight_scale`). */
export interface ScaledFp8Encoding {
  scheme: 'scaled-fp8';
  code: 'F8_E4M3' | 'F8_E5M2';
  /** The scale as a float32 value; value = fround(code value * scale). */
  scale: number;
  /** The tensor the scale was read from (consumed: it is no longer a key of the model). */
  scaleTensor: string;
}

/** Bytes [offset, offset + byteLength) of the tensor's file. */
export interface FileRange {
  offset: number;
  byteLength: number;
}

/**
 * bitsandbytes 4-bit (NF4 / FP4): two codes per byte (high nibble first) in flattened C order, one absmax per block;
 * value = round_to(outDtype, fround(table[code] * absmax[block])). With double quantisation the absmax are uint8
 * codes of a second, 8-bit blockwise quantisation: absmax[b] = fround(fround(nested.code[u8[b]] *
 * nested.absmax[b / nested.blockElements]) + nested.offset).
 */
export interface Bnb4bitEncoding {
  scheme: 'bnb-4bit';
  type: 'nf4' | 'fp4';
  blockElements: number;
  /** The quant state's dtype: bitsandbytes rounds every dequantised value to it. */
  outDtype: 'F32' | 'F16' | 'BF16';
  /** float32 per block, or (nested) one uint8 code per block. */
  absmax: FileRange;
  nested?: {
    /** float32 per nested block */
    absmax: FileRange;
    blockElements: number;
    /** the 256 float32 values of the nested code book */
    code: number[];
    /** float32 */
    offset: number;
  };
  /** The auxiliary tensors consumed (absmax, quant_map, quant state...). */
  aux: string[];
}

export type QuantEncoding = GgmlEncoding | ScaledFp8Encoding | Bnb4bitEncoding;

/** The quantised dtype a reader gives a tensor with this encoding. */
export function quantDType(q: QuantEncoding): DType {
  switch (q.scheme) {
    case 'ggml':
      return q.type;
    case 'scaled-fp8':
      return q.code === 'F8_E4M3' ? 'F8_E4M3_SCALED' : 'F8_E5M2_SCALED';
    case 'bnb-4bit':
      return q.type === 'nf4' ? 'BNB_NF4' : 'BNB_FP4';
  }
}

/**
 * What, beside the bytes read for a range, decides the values: two tensors whose ranges read the same bytes and
 * whose keys are equal hold bit-identical values.
 */
export function quantIdentity(q: QuantEncoding): string {
  switch (q.scheme) {
    case 'ggml':
      return q.type;
    case 'scaled-fp8':
      return `${q.code}*${f32Bits(q.scale)}`;
    case 'bnb-4bit':
      return `${q.type}/${q.blockElements}/${q.outDtype}${q.nested ? `/${q.nested.blockElements}/${f32Bits(q.nested.offset)}/${q.nested.code.map(f32Bits).join(',')}` : ''}`;
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32Bits(x: number): string {
  f32[0] = x;
  return u32[0]!.toString(16);
}
