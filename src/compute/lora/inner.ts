/**
 * Inner products, norms and distances of deltas without building them, in float64, each with a bound on its
 * rounding error, and the direct recomputation used when the bound says the fast form cannot be trusted.
 *
 * <U1 V1, U2 V2> = trace((U1ᵀ U2)(V2 V1ᵀ)) = sum_ab (Ut1 Ut2ᵀ)_ab (V1 V2ᵀ)_ab: R1 x R2 products over rows and over
 * columns. Rounding: each of those products of two vectors of length n is off by at most γ_n times the product
 * of their norms, and the final sum of R1 R2 terms by γ_{R1 R2}; summing over a, b with Cauchy-Schwarz bounds the
 * error of the inner product by (rows + cols + R1 R2) u S1 S2 (to first order), where u = 2^-53 and
 * S = sum_a ||Ut[a]|| ||V[a]|| (+ ||D|| for a dense part) is the "magnitude" of a delta. Dense parts are summed per
 * row, then over rows, so their bound has the same form.
 *
 * A squared distance from the expansion ||X||^2 + ||Y||^2 - 2 <X, Y> inherits the bounds of its three terms. When
 * two deltas are nearly equal the bound is no longer small against the result (cancellation), and the distance is
 * recomputed directly: the difference is built row block by row block and squared, whose error is at most
 * (R + 2) u (S_X + S_Y) on the distance itself. That is also the rounding floor: two deltas whose direct distance
 * is within a few floors are equal to float rounding ("same delta").
 */
import type { KeyDelta } from './deltas';
import { dot, lowRankRows, rowNorms, rowProducts } from './linalg';

const U = 2 ** -53;
/** The expansion is used when its error bound is at most this share of the squared distance. */
export const TRUST = 1e-8;
/** Rows of a difference built at once by the direct computation. */
const DIRECT_ROWS = 64;

export interface Bounded {
  value: number;
  /** bound on |value - exact| */
  bound: number;
}

/** Magnitude S of a delta: sum_a ||Ut[a]|| ||V[a]|| + ||dense||; bounds |<X, Y>| and the rounding of everything here. */
export function magnitude(x: KeyDelta): number {
  let s = 0;
  if (x.lowRank) {
    const { R, Ut, V } = x.lowRank;
    const nu = rowNorms(Ut, R, x.rows);
    const nv = rowNorms(V, R, x.cols);
    for (let a = 0; a < R; a++) s += nu[a]! * nv[a]!;
  }
  if (x.dense) s += Math.sqrt(dot(x.dense, 0, x.dense, 0, x.dense.length));
  return s;
}

function rankOf(x: KeyDelta): number {
  return x.lowRank?.R ?? 0;
}

/** Error bound factor of <X, Y> (to multiply by magnitude(X) * magnitude(Y)). */
export function innerBoundFactor(x: KeyDelta, y: KeyDelta): number {
  const rx = rankOf(x);
  const ry = rankOf(y);
  return 1.01 * U * (x.rows + x.cols + rx * ry + rx + ry + 4);
}

/** <X, Y> (same key, same shape). */
export function inner(x: KeyDelta, y: KeyDelta): number {
  return (x.lowRank && y.lowRank ? innerLowRank(x, y) : 0) + innerDenseParts(x, y);
}

/** The terms of <X, Y> that involve a dense part of either (all of it when neither has a low-rank part). */
export function innerDenseParts(x: KeyDelta, y: KeyDelta): number {
  let s = 0;
  if (x.lowRank && y.dense) s += innerLowRankDense(x.lowRank, x.rows, x.cols, y.dense);
  if (x.dense && y.lowRank) s += innerLowRankDense(y.lowRank, y.rows, y.cols, x.dense);
  if (x.dense && y.dense) s += innerDense(x.dense, y.dense, x.rows, x.cols);
  return s;
}

function innerLowRank(x: KeyDelta, y: KeyDelta): number {
  const a = x.lowRank!;
  const b = y.lowRank!;
  const X = new Float64Array(a.R * b.R);
  const Y = new Float64Array(a.R * b.R);
  rowProducts(a.Ut, a.R, b.Ut, b.R, x.rows, X, b.R);
  rowProducts(a.V, a.R, b.V, b.R, x.cols, Y, b.R);
  return dot(X, 0, Y, 0, X.length);
}

/** <U V, D> = sum_r sum_a Ut[a, r] (D[r, :] · V[a, :]), summed per row, then over rows. */
export function innerLowRankDense(lr: { R: number; Ut: Float64Array; V: Float64Array }, rows: number, cols: number, D: Float64Array, rowOffset = 0, blockRows = rows): number {
  const { R, Ut, V } = lr;
  const T = new Float64Array(blockRows * R);
  rowProducts(D, blockRows, V, R, cols, T, R);
  let s = 0;
  for (let r = 0; r < blockRows; r++) {
    let t = 0;
    for (let a = 0; a < R; a++) t += Ut[a * rows + rowOffset + r]! * T[r * R + a]!;
    s += t;
  }
  return s;
}

function innerDense(a: Float64Array, b: Float64Array, rows: number, cols: number): number {
  let s = 0;
  for (let r = 0; r < rows; r++) s += dot(a, r * cols, b, r * cols, cols);
  return s;
}

/** Rows [r0, r1) of a delta, densely, into out (row-major, (r1 - r0) x cols). */
export function deltaRows(x: KeyDelta, r0: number, r1: number, out: Float64Array): void {
  if (x.lowRank) lowRankRows(x.lowRank.Ut, x.lowRank.R, x.rows, x.lowRank.V, x.cols, r0, r1, out);
  else out.fill(0, 0, (r1 - r0) * x.cols);
  if (x.dense) {
    const d = x.dense;
    for (let i = 0, n = (r1 - r0) * x.cols, o = r0 * x.cols; i < n; i++) out[i] += d[o + i]!;
  }
}

/** ||X - Y||^2 computed from the difference itself, row block by row block. */
export function squaredDistanceDirect(x: KeyDelta, y: KeyDelta): number {
  const block = Math.max(1, Math.min(x.rows, DIRECT_ROWS));
  const bx = new Float64Array(block * x.cols);
  const by = new Float64Array(block * x.cols);
  let s = 0;
  for (let r0 = 0; r0 < x.rows; r0 += block) {
    const r1 = Math.min(x.rows, r0 + block);
    deltaRows(x, r0, r1, bx);
    deltaRows(y, r0, r1, by);
    for (let r = 0; r < r1 - r0; r++) {
      let t = 0;
      for (let c = 0, o = r * x.cols; c < x.cols; c++) {
        const d = bx[o + c]! - by[o + c]!;
        t += d * d;
      }
      s += t;
    }
  }
  return s;
}

/** Bound on |sqrt(direct squared distance) - exact distance|: the rounding floor of the pair. */
export function directFloor(x: KeyDelta, y: KeyDelta, magX: number, magY: number): number {
  return 1.01 * U * (Math.max(rankOf(x), rankOf(y)) + 2) * (magX + magY) * (1 + 1.01 * U * (x.rows + x.cols));
}

export interface PairStats {
  /** ||X - Y||^2 */
  d2: number;
  /** <X, Y> */
  dot: number;
  /** The distance was recomputed directly because the expansion was not accurate enough. */
  direct: boolean;
  /** Bound on the error of sqrt(d2) (the rounding floor when recomputed directly). */
  distanceBound: number;
}

/**
 * Distance and inner product of two deltas of one key, given their squared norms and magnitudes (from
 * `selfStats`): by the expansion when its error bound is small against the result, else directly. `g` may come
 * from elsewhere (a block Gram) with its own error bound factor `gFactor`.
 */
export function pairStats(x: KeyDelta, y: KeyDelta, sx: SelfStats, sy: SelfStats, g = inner(x, y), gFactor = innerBoundFactor(x, y)): PairStats {
  const bg = gFactor * sx.mag * sy.mag;
  const d2 = sx.norm2 + sy.norm2 - 2 * g;
  const bound = sx.norm2Bound + sy.norm2Bound + 2 * bg + 4 * U * (sx.norm2 + sy.norm2 + 2 * Math.abs(g));
  if (d2 > 0 && bound <= TRUST * d2) return { d2, dot: g, direct: false, distanceBound: bound / (2 * Math.sqrt(d2)) };
  return { d2: squaredDistanceDirect(x, y), dot: g, direct: true, distanceBound: directFloor(x, y, sx.mag, sy.mag) };
}

export interface SelfStats {
  norm2: number;
  norm2Bound: number;
  mag: number;
}

/** ||X||^2 with its bound, and the magnitude of X. A norm whose expansion is not trustworthy is recomputed directly. */
export function selfStats(x: KeyDelta): SelfStats {
  const mag = magnitude(x);
  const n2 = inner(x, x);
  const b = innerBoundFactor(x, x) * mag * mag;
  if (n2 > 0 && b <= TRUST * n2) return { norm2: n2, norm2Bound: b, mag };
  const zero: KeyDelta = { key: x.key, rows: x.rows, cols: x.cols };
  const direct = squaredDistanceDirect(x, zero);
  const floor = directFloor(x, zero, mag, 0);
  return { norm2: direct, norm2Bound: floor * (2 * Math.sqrt(direct) + floor), mag };
}

/** Two deltas are the same to float rounding when their distance is within a few rounding floors. */
export function sameToRounding(p: PairStats): boolean {
  return p.direct && Math.sqrt(Math.max(0, p.d2)) <= 4 * p.distanceBound;
}
