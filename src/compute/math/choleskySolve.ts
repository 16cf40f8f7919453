/** Solves L Lᵀ x = rhs for a lower-triangular Cholesky factor L (forward, then back substitution). */
export function choleskySolve(L: readonly (readonly number[])[], rhs: readonly number[]): number[] {
  const n = rhs.length;
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = rhs[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}
