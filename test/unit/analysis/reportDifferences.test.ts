import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capDifferences, differencesCap } from '../../../src/compute/output/report/differences';
import type { CompareResult } from '../../../src/shared/result';
import { sampleResult } from '../extension/sampleResult';

/** The sample with one pair holding long only_a / only_b lists, as a mixed-architecture folder has. */
function withLongLists(n: number): CompareResult {
  const r = sampleResult();
  const p = r.pairs[1]!;
  p.differences = {
    ...p.differences,
    only_a: Array.from({ length: n }, (_, i) => `model.diffusion_model.only_a.${i}.weight`),
    only_b: Array.from({ length: n }, (_, i) => `conditioner.embedders.1.model.only_b.${i}.weight`),
  };
  return r;
}

test('difference lists fit the budget: one common cap, marked truncated, counts untouched, small results as they are', () => {
  const r = withLongLists(1000);
  assert.equal(differencesCap(r, 1e9), Infinity);
  assert.equal(capDifferences(r, Infinity), r);
  const cap = differencesCap(r, 20_000);
  assert.ok(cap > 0 && cap < 1000, String(cap));
  const capped = capDifferences(r, cap);
  const bytes = capped.pairs.reduce((s, p) => s + JSON.stringify(p.differences).length, 0);
  assert.ok(bytes <= 20_000 * 1.1, `${bytes} bytes`);
  const d = capped.pairs[1]!.differences;
  assert.equal(d.only_a.length, cap);
  assert.equal(d.only_b.length, cap);
  assert.deepEqual(d.only_a, r.pairs[1]!.differences.only_a.slice(0, cap));
  assert.equal(d.truncated, true);
  assert.deepEqual(capped.pairs[1]!.components, r.pairs[1]!.components, 'counts are exact');
  assert.equal(capped.pairs[0], r.pairs[0], 'pairs within the cap are the same objects');
  assert.equal(r.pairs[1]!.differences.only_a.length, 1000, 'the input is not changed');
});
