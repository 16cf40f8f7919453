/**
 * Least squares from inner products: min_x ||D - sum_i x_i X_i||^2 = ||D||^2 - 2 bᵀx + xᵀ G x, with G_ij = <X_i, X_j>
 * and b_i = <X_i, D>, optionally with x >= 0 (Lawson and Hanson's active-set method on the normal equations).
 *
 * A column that is (to 1e-5 in norm) a combination of columns already in the fit — a duplicate LoRA, say — cannot
 * get a strength of its own: it is marked dependent and kept at 0, and the fit is the same whichever copy is used.
 */

import { choleskySolve } from '../math/choleskySolve';

/** A column whose part outside the span of the others is below this share of its squared norm is dependent. */
const DEPENDENT = 1e-10;

export interface LeastSquares {
  x: number[];
  /** Columns left at 0 because they are combinations of others. */
  dependent: boolean[];
}

/** Cholesky factor of G restricted to `set` (in that order), or the position of the first dependent column. */
function cholesky(G: readonly (readonly number[])[], set: readonly number[]): { L: number[][] } | { dependentAt: number } {
  const n = set.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const gi = set[i]!;
    for (let j = 0; j <= i; j++) {
      let s = G[gi]![set[j]!]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > DEPENDENT * G[gi]![gi]!) || !(G[gi]![gi]! > 0)) return { dependentAt: i };
        L[i]![i] = Math.sqrt(s);
      } else L[i]![j] = s / L[j]![j]!;
    }
  }
  return { L };
}

/** Solves G_SS z = b_S for the columns in S (which must be independent). */
function solveOn(G: readonly (readonly number[])[], b: readonly number[], S: readonly number[]): number[] {
  const c = cholesky(G, S);
  if (!('L' in c)) throw new Error('internal: a dependent column entered the fit');
  return choleskySolve(c.L, S.map((i) => b[i]!));
}

/** Unconstrained least squares: columns taken in order, each dependent one skipped. */
export function leastSquares(G: readonly (readonly number[])[], b: readonly number[]): LeastSquares {
  const k = b.length;
  const dependent = new Array<boolean>(k).fill(false);
  const S: number[] = [];
  for (let i = 0; i < k; i++) {
    const c = cholesky(G, [...S, i]);
    if ('L' in c) S.push(i);
    else dependent[i] = true;
  }
  const x = new Array<number>(k).fill(0);
  if (S.length) solveOn(G, b, S).forEach((v, t) => (x[S[t]!] = v));
  return { x, dependent };
}

/** Non-negative least squares (Lawson-Hanson), from the Gram matrix and right-hand side. */
export function nonNegativeLeastSquares(G: readonly (readonly number[])[], b: readonly number[]): LeastSquares {
  const k = b.length;
  const x = new Array<number>(k).fill(0);
  const dependent = new Array<boolean>(k).fill(false);
  const passive = new Set<number>();
  const scale = Math.max(1e-300, ...b.map(Math.abs), ...G.map((row, i) => Math.abs(row[i]!)));
  const tol = 1e-13 * scale;
  const gradient = () => b.map((bi, i) => bi - G[i]!.reduce((s, g, j) => s + g * x[j]!, 0));
  const refused = new Set<number>();
  for (let outer = 0; outer < 10 * k + 10; outer++) {
    const w = gradient();
    let j = -1;
    for (let i = 0; i < k; i++) if (!passive.has(i) && !dependent[i] && !refused.has(i) && w[i]! > tol && (j < 0 || w[i]! > w[j]!)) j = i;
    if (j < 0) break;
    const trial = [...passive, j];
    if (!('L' in cholesky(G, trial))) {
      dependent[j] = true;
      continue;
    }
    passive.add(j);
    for (let inner = 0; inner < 10 * k + 10; inner++) {
      const S = [...passive];
      const z = solveOn(G, b, S);
      if (z.every((v) => v > 0)) {
        S.forEach((i, t) => (x[i] = z[t]!));
        break;
      }
      let alpha = Infinity;
      S.forEach((i, t) => {
        if (z[t]! <= 0) alpha = Math.min(alpha, x[i]! / (x[i]! - z[t]!));
      });
      S.forEach((i, t) => (x[i] = x[i]! + alpha * (z[t]! - x[i]!)));
      for (const i of S) {
        if (x[i]! <= 1e-15 * Math.max(1, ...S.map((s) => Math.abs(x[s]!)))) {
          x[i] = 0;
          passive.delete(i);
        }
      }
    }
    // Rounding can make the column just added leave again at once; do not try it again until the fit changes.
    if (!passive.has(j)) refused.add(j);
    else refused.clear();
  }
  // A column left out of the fit that the fitted columns span (a copy of one of them) could have taken its place.
  const fitted = [...passive];
  for (let i = 0; i < k; i++) if (!passive.has(i) && !dependent[i] && !('L' in cholesky(G, [...fitted, i]))) dependent[i] = true;
  return { x, dependent };
}

/** ||D||^2 - 2 bᵀx + xᵀ G x (may be slightly negative from rounding; the caller bounds it). */
export function residualSquared(norm2D: number, G: readonly (readonly number[])[], b: readonly number[], x: readonly number[]): number {
  let s = norm2D;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 0) continue;
    s -= 2 * b[i]! * x[i]!;
    for (let j = 0; j < x.length; j++) s += x[i]! * G[i]![j]! * x[j]!;
  }
  return s;
}
