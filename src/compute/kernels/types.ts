import type { GgmlQuantType } from '../quant/encoding';

/**
 * The hot loops of the engine, behind one interface with two implementations:
 * WebAssembly SIMD (wasm.ts, the one the engine uses) and plain TypeScript (reference.ts, the test oracle).
 *
 * All pointers are byte offsets into `memory`, which the caller lays out with `reserve`. Float32 arrays must be
 * 16-byte aligned; float64 arrays 8-byte aligned. After `reserve` grows memory every view must be re-created
 * (the `f32()/f64()/u8()` accessors always return fresh views).
 */
export interface Kernels {
  readonly name: 'wasm-simd' | 'wasm-simd-fma' | 'reference';
  /** Guarantees at least `bytes` of usable memory starting at address 0 (may grow memory). */
  reserve(bytes: number): void;
  u8(): Uint8Array;
  f32(): Float32Array;
  f64(): Float64Array;

  /**
   * Decodes `n` little-endian elements at `src` into float32 at `dst`, exactly (NaN stays NaN). `src` needs no
   * alignment; source and destination must not overlap. F8_E4M3 is the OCP "fn" variant (no infinities, max 448).
   */
  decodeF16(src: number, dst: number, n: number): void;
  decodeBF16(src: number, dst: number, n: number): void;
  decodeF8E4M3(src: number, dst: number, n: number): void;
  decodeF8E5M2(src: number, dst: number, n: number): void;

  /**
   * Dequantisers (quant/encoding.ts), each exactly as its producer computes in float32: every product and sum of
   * the reference (quant/dequantRef.ts) is one correctly rounded float32 operation, never fused. Sources need no
   * alignment; destinations are float32 arrays; source and destination must not overlap.
   *
   * dequantGgml: `nBlocks` consecutive ggml blocks of `type` (ggml's dequantize_row_*).
   */
  dequantGgml(type: GgmlQuantType, src: number, dst: number, nBlocks: number): void;
  /** n fp8 codes times `scale` (a float32 value): dst[i] = fround(code value * scale). */
  decodeF8E4M3Scaled(src: number, dst: number, n: number, scale: number): void;
  decodeF8E5M2Scaled(src: number, dst: number, n: number, scale: number): void;
  /**
   * bitsandbytes 4-bit: n codes, two per byte from src, high nibble first; dst[i] = round(fround(table[code_i] *
   * absmax[(phase + i) >> blockShift])), where table is 16 float32, absmax float32 per block, and round is to
   * float32 (out 0), float16 (out 1) or bfloat16 (out 2), to nearest with ties to even, the result kept as float32.
   */
  dequant4bit(src: number, table: number, absmax: number, dst: number, n: number, phase: number, blockShift: number, out: number): void;

  /**
   * ref[c] = mean over rows i < m of rows[i*stride + col0 + c], c < kb (summed in float64, m >= 1).
   * Strides and kb count float32 elements.
   */
  meanRows(rows: number, m: number, stride: number, col0: number, kb: number, ref: number): void;

  /**
   * packed[i*kb + c] = rows[i*stride + col0 + c] - ref[c] for i < m, c < n; zero for c in [n, kb) and rows i in [m, mPad).
   * kb is a multiple of 8, mPad a multiple of 4 and >= m.
   */
  centerPack(rows: number, m: number, stride: number, col0: number, n: number, ref: number, packed: number, mPad: number, kb: number): void;

  /**
   * G[i*mPad + j] += sum_c packed[i*kb+c] * packed[j*kb+c] for i <= j < mPad (upper triangle incl. diagonal).
   * The products of one call are summed in float32 chains of at most GRAM_F32_CHAIN products, those partial sums in
   * float64, then added into the float64 G. (Longer float32 chains bias sums of squares of fp16/bf16-quantized values
   * downwards, through ties-to-even rounding: about 1e-6 relative with 128 products.)
   */
  gramBlock(packed: number, mPad: number, kb: number, G: number): void;

  /**
   * S[i] += sum_c packed[i*kb+c] * ref[c] for i < mPad (float32 chains as in gramBlock, added in f64), and returns
   * sum_c ref[c]^2 (in f64). All kb entries of ref are read: zero them past the tensor's end.
   */
  dotRef(packed: number, mPad: number, kb: number, ref: number, S: number): number;

  /**
   * sum (a_i - b_i)^2 over float32 arrays, every step in float64 (differences exact unless the exponents differ by
   * more than 29; equal values give exactly 0).
   */
  sqDiff(a: number, b: number, n: number): number;

  /** sum a_i * b_i over float32 arrays, in float64. */
  dot(a: number, b: number, n: number): number;

  /**
   * Everything a single pair needs, in float64, over float32 arrays, written to out[0..6] (7 float64s):
   * [sum (a-b)^2, sum |a-b|, count(a != b), max |a-b|, sum a*b, sum a^2, sum b^2].
   * NaN compares as unequal to everything (counted as changed) and makes the sums and the max NaN; -0 equals 0.
   */
  pairStats(a: number, b: number, n: number, out: number): void;

  /**
   * C[i*ldc + j] += sum_l A[i*len + l] * B[j*len + l] for i < m, j < n, on float64 rows (the LoRA deltas' inner
   * products, lora/linalg.ts). Columns go in pieces of ROW_PRODUCT_PIECE; in a piece each entry is summed in two
   * float64 lanes (even and odd columns; an odd last column in the even lane), the lanes are added, and the piece is
   * added into C: every entry is a float64 sum of at most ROW_PRODUCT_PIECE / 2 + 1 products per lane. `upper` (1):
   * A and B are the same rows and only entries with j >= i are needed (some below are filled too).
   */
  rowProductsF64(A: number, m: number, B: number, n: number, len: number, C: number, ldc: number, upper: number): void;
}

/** Columns per piece of rowProductsF64. */
export const ROW_PRODUCT_PIECE = 512;

/** The most products in one float32 partial sum of gramBlock and dotRef (see there). */
export const GRAM_F32_CHAIN = 16;
