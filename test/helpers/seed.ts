import type { TestContext } from 'node:test';

/**
 * The seed of a randomised test: the test's own fixed seed by default, so every run is the same, or
 * MODELDIFF_TEST_SEED to explore others. Printed as a diagnostic of the test (`# seed ...` in the output), so a
 * failure names the seed that repeats it.
 */
export function testSeed(t: TestContext, fixed: number): number {
  const env = process.env.MODELDIFF_TEST_SEED;
  const seed = env === undefined || env === '' ? fixed : Number(env);
  if (!Number.isSafeInteger(seed)) throw new Error(`MODELDIFF_TEST_SEED must be a whole number, not "${env}"`);
  t.diagnostic(`seed ${seed} (repeat with MODELDIFF_TEST_SEED=${seed})`);
  return seed;
}
