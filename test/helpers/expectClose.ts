import assert from 'node:assert/strict';

/** |actual - expected| <= rel * |expected| (+ abs); both null, or both exactly 0, pass. */
export function assertClose(actual: number | null | undefined, expected: number | null | undefined, rel: number, what: string, abs = 0): void {
  if (expected === null || expected === undefined) {
    assert.equal(actual ?? null, null, `${what}: expected null (not comparable), got ${actual}`);
    return;
  }
  assert.notEqual(actual ?? null, null, `${what}: expected ${expected}, got null`);
  const a = actual as number;
  if (expected === 0) {
    assert.ok(Math.abs(a) <= abs, `${what}: expected exactly 0, got ${a}`);
    return;
  }
  const err = Math.abs(a - expected);
  assert.ok(err <= rel * Math.abs(expected) + abs, `${what}: ${a} vs float64 ${expected} (relative error ${(err / Math.abs(expected)).toExponential(2)} > ${rel})`);
}
