/**
 * Float64 kernels on row-major matrices (Float64Array + row length). Plain loops, register-blocked where they are
 * hot; every sum is an ordinary float64 sum whose error bound is stated where it is used (inner.ts).
 */

/**
 * Columns processed per pass of rowProducts, so the 6 rows of a register block stay in L1. Each entry of C is
 * a sum of pieces of at most this many products, so its rounding error is at most γ_{KC + len/KC} (inner.ts).
 */
const KC = 512;
export const ROW_PRODUCT_CHUNK = KC;

/**
 * C[i*ldc + j] (+)= sum_l A[i*len + l] * B[j*len + l] for i < m, j < n: the products of the rows of A with the rows
 * of B (A Bᵀ). `accumulate` false overwrites C. Rows of A and B are read `len` long from their starts.
 * `upper`: A and B are the same rows and only entries with j >= i are needed (some below are filled too).
 */
export function rowProducts(A: Float64Array, m: number, B: Float64Array, n: number, len: number, C: Float64Array, ldc: number, accumulate = false, upper = false): void {
  if (!accumulate) for (let i = 0; i < m; i++) C.fill(0, i * ldc, i * ldc + n);
  for (let l0 = 0; l0 < len; l0 += KC) {
    const l1 = Math.min(len, l0 + KC);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const a0 = i * len;
      const a1 = a0 + len;
      let j = upper ? i - (i % 4) : 0;
      for (; j + 4 <= n; j += 4) {
        const b0 = j * len;
        const b1 = b0 + len;
        const b2 = b1 + len;
        const b3 = b2 + len;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        for (let l = l0; l < l1; l++) {
          const x0 = A[a0 + l]!;
          const x1 = A[a1 + l]!;
          const y0 = B[b0 + l]!;
          const y1 = B[b1 + l]!;
          const y2 = B[b2 + l]!;
          const y3 = B[b3 + l]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
        }
        const c0 = i * ldc + j;
        const c1 = c0 + ldc;
        C[c0] += s00;
        C[c0 + 1] += s01;
        C[c0 + 2] += s02;
        C[c0 + 3] += s03;
        C[c1] += s10;
        C[c1 + 1] += s11;
        C[c1 + 2] += s12;
        C[c1 + 3] += s13;
      }
      for (; j < n; j++) {
        const b0 = j * len;
        let s0 = 0, s1 = 0;
        for (let l = l0; l < l1; l++) {
          const y = B[b0 + l]!;
          s0 += A[a0 + l]! * y;
          s1 += A[a1 + l]! * y;
        }
        C[i * ldc + j] += s0;
        C[(i + 1) * ldc + j] += s1;
      }
    }
    for (; i < m; i++) {
      const a0 = i * len;
      for (let j = upper ? i : 0; j < n; j++) {
        const b0 = j * len;
        let s = 0;
        for (let l = l0; l < l1; l++) s += A[a0 + l]! * B[b0 + l]!;
        C[i * ldc + j] += s;
      }
    }
  }
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

/** out[r, :] = sum_a coef[a * coefStride + r] * V[a, :] for rows r0 <= r < r1 of the product Coefᵀ V (rows of a low-rank matrix). */
export function lowRankRows(Ut: Float64Array, R: number, rows: number, V: Float64Array, cols: number, r0: number, r1: number, out: Float64Array, outOffset = 0, accumulate = false): void {
  if (!accumulate) out.fill(0, outOffset, outOffset + (r1 - r0) * cols);
  for (let r = r0; r < r1; r++) {
    const o = outOffset + (r - r0) * cols;
    for (let a = 0; a < R; a++) {
      const u = Ut[a * rows + r]!;
      if (u === 0) continue;
      const v0 = a * cols;
      for (let c = 0; c < cols; c++) out[o + c] += u * V[v0 + c]!;
    }
  }
}
