import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leastSquares, nonNegativeLeastSquares } from '../../../src/compute/lora/nnls';

/** G = XᵀX, b = Xᵀd for explicit columns X (n x k) and target d. */
function normal(X: number[][], d: number[]): { G: number[][]; b: number[] } {
  const k = X[0]!.length;
  const G = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => X.reduce((s, row) => s + row[i]! * row[j]!, 0)));
  const b = Array.from({ length: k }, (_, i) => X.reduce((s, row, r) => s + row[i]! * d[r]!, 0));
  return { G, b };
}

test('non-negative least squares: exact fits, active constraints, dependent columns', () => {
  const X = [
    [1, 0, 1],
    [0, 1, 1],
    [1, 1, 0],
    [2, 0, 1],
  ];
  const s = [0.8, 0.45, 0];
  const d = X.map((row) => row.reduce((acc, x, i) => acc + x * s[i]!, 0));
  const { G, b } = normal(X, d);
  const fit = nonNegativeLeastSquares(G, b);
  fit.x.forEach((v, i) => assert.ok(Math.abs(v - s[i]!) < 1e-12, `${i}: ${v}`));

  // a target that wants a negative weight on column 2: NNLS keeps it at 0, least squares does not
  const d2 = X.map((row) => row[0]! * 1 - row[2]! * 0.5);
  const n2 = normal(X, d2);
  const nn = nonNegativeLeastSquares(n2.G, n2.b);
  assert.equal(nn.x[2], 0);
  assert.ok(nn.x.every((v) => v >= 0));
  const free = leastSquares(n2.G, n2.b);
  assert.ok(Math.abs(free.x[0]! - 1) < 1e-12 && Math.abs(free.x[2]! + 0.5) < 1e-12);
  // the KKT conditions of the NNLS solution: gradient <= 0 where x = 0, = 0 where x > 0
  const grad = n2.b.map((bi, i) => bi - n2.G[i]!.reduce((acc, g, j) => acc + g * nn.x[j]!, 0));
  grad.forEach((g, i) => (nn.x[i]! > 0 ? assert.ok(Math.abs(g) < 1e-12) : assert.ok(g <= 1e-12)));

  // a duplicated column: one copy takes the weight, the other is marked dependent
  const Xd = X.map((row) => [row[0]!, row[1]!, row[0]!]);
  const dd = X.map((row) => row[0]! * 0.7 + row[1]! * 0.2);
  const nd = normal(Xd, dd);
  const fd = nonNegativeLeastSquares(nd.G, nd.b);
  assert.ok(Math.abs(fd.x[0]! + fd.x[2]! - 0.7) < 1e-12);
  assert.deepEqual(fd.dependent, [false, false, true]);
  const ld = leastSquares(nd.G, nd.b);
  assert.deepEqual(ld.dependent, [false, false, true]);
  assert.ok(Math.abs(ld.x[0]! - 0.7) < 1e-12 && ld.x[2] === 0);
});
