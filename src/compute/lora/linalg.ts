/**
 * Float64 kernels on row-major matrices (Float64Array + row length): plain loops, and the hot row products in
 * WebAssembly (kernels/). Every sum is an ordinary float64 sum whose error bound is stated where it is used (inner.ts).
 */
import { createKernels, type Kernels } from '../kernels/index';
import { ROW_PRODUCT_PIECE } from '../kernels/types';

/**
 * Columns per piece of rowProducts: each entry of C is a sum of pieces of at most this many products, so its
 * rounding error is at most γ_{KC + len/KC} (inner.ts).
 */
export const ROW_PRODUCT_CHUNK = ROW_PRODUCT_PIECE;

/** The WebAssembly kernels rowProducts runs on, one instance per thread, made on first use. */
let kernels: Kernels | undefined;

/**
 * C[i*ldc + j] (+)= sum_l A[i*len + l] * B[j*len + l] for i < m, j < n: the products of the rows of A with the rows
 * of B (A Bᵀ), by the kernels' rowProductsF64 (kernels/types.ts says how each entry is summed). `accumulate` false
 * overwrites C. Rows of A and B are read `len` long from their starts. `upper`: A and B are the same rows and only
 * entries with j >= i are needed (some below are filled too).
 */
export function rowProducts(A: Float64Array, m: number, B: Float64Array, n: number, len: number, C: Float64Array, ldc: number, accumulate = false, upper = false): void {
  if (!accumulate) for (let i = 0; i < m; i++) C.fill(0, i * ldc, i * ldc + n);
  if (m === 0 || n === 0 || len === 0) return;
  const k = (kernels ??= createKernels('wasm'));
  const shared = upper || A === B;
  const aLength = m * len;
  const bLength = shared ? 0 : n * len;
  const cLength = (m - 1) * ldc + n;
  k.reserve((aLength + bLength + cLength) * 8);
  const f = k.f64();
  f.set(A.subarray(0, aLength), 0);
  if (!shared) f.set(B.subarray(0, bLength), aLength);
  const cAt = aLength + bLength;
  f.set(C.subarray(0, cLength), cAt);
  k.rowProductsF64(0, m, shared ? 0 : aLength * 8, n, len, cAt * 8, ldc, upper ? 1 : 0);
  C.set(k.f64().subarray(cAt, cAt + cLength));
}

/** sum_l a[aOff + l] * b[bOff + l] for l < len. */
export function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let l = 0;
  for (; l + 4 <= len; l += 4) {
    s0 += a[aOff + l]! * b[bOff + l]!;
    s1 += a[aOff + l + 1]! * b[bOff + l + 1]!;
    s2 += a[aOff + l + 2]! * b[bOff + l + 2]!;
    s3 += a[aOff + l + 3]! * b[bOff + l + 3]!;
  }
  for (; l < len; l++) s0 += a[aOff + l]! * b[bOff + l]!;
  return s0 + s1 + (s2 + s3);
}

/** Euclidean norm of each row of a rows x len matrix. */
export function rowNorms(A: Float64Array, rows: number, len: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = Math.sqrt(dot(A, i * len, A, i * len, len));
  return out;
}

/** The transpose of a rows x cols matrix. */
export function transpose(A: Float64Array, rows: number, cols: number): Float64Array {
  const T = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = A[i * cols + j]!;
  return T;
}

/**
 * out[r - r0, :] = sum_a Ut[a, r] * V[a, :] for rows r0 <= r < r1 of the product Utᵀ V (rows of a low-rank matrix),
 * by rowProducts on the transposed factors (each element a float64 sum of R products, as rowProducts sums).
 */
export function lowRankRows(Ut: Float64Array, R: number, rows: number, V: Float64Array, cols: number, r0: number, r1: number, out: Float64Array, outOffset = 0, accumulate = false): void {
  const n = r1 - r0;
  if (n <= 0) return;
  const U = transposeOnce(Ut, R, rows).subarray(r0 * R, r1 * R);
  rowProducts(U, n, transposeOnce(V, R, cols), cols, R, out.subarray(outOffset), cols, accumulate);
}

/** Transposes of factors, made once per factor array (a delta's rows are built chunk by chunk, many times). */
const transposes = new WeakMap<Float64Array, Float64Array>();

function transposeOnce(M: Float64Array, rows: number, cols: number): Float64Array {
  let t = transposes.get(M);
  if (!t) transposes.set(M, (t = transpose(M, rows, cols)));
  return t;
}
