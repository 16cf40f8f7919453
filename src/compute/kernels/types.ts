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
   * For rows i in the int32 list II (ni entries, a multiple of 4) and j in JJ (nj entries, even), over columns [col0, col0+n)
   * of float32 rows at `stride` elements apart (row r at rows + 4*r*stride; n a multiple of 4):
   * D[i*dStride + j] += sum_c (x_i[c] - x_j[c])^2 (float64 D).
   * With `tri` set (II and JJ the same list), only the entries from each row's own position in the list onward are
   * computed (the upper triangle and diagonal, plus, at the diagonal, a few lower entries).
   * The columns are taken PAIR_SUB_COLUMNS at a time; within one, each float32 lane (columns c = lane mod 4) sums
   * at most GRAM_F32_CHAIN differences squared, in order, those partial sums are widened to float64 and summed, and
   * the sub-block's total is added into D. Every entry thus depends on its two rows and the columns
   * alone, and (i, j) has the bits of (j, i). Equal rows give D exactly 0. Every index in II and JJ is below nRows;
   * `packed` is scratch for nRows x PAIR_SUB_COLUMNS float32 (the rows' slices of one sub-block, copied side by side).
   */
  pairBlock(rows: number, stride: number, col0: number, n: number, nRows: number, packed: number, II: number, ni: number, JJ: number, nj: number, tri: number, D: number, dStride: number): void;

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

/** The most products in one float32 partial sum of pairBlock (see there). */
export const GRAM_F32_CHAIN = 16;
/** Columns per sub-block of pairBlock. */
export const PAIR_SUB_COLUMNS = 512;
