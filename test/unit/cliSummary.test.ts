import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identicalGroups, summary, SUMMARY_ALL_PAIRS_UP_TO } from '../../src/cli/summary';
import type { CompareResult, ComponentDiff, PairResult } from '../../src/shared/result';
import { sampleResult } from './extension/sampleResult';

/** n models; unet identical within {0,1,2} and {5,6}, else changed with L2 = a + b / 100. */
function bigResult(n: number): CompareResult {
  const r = sampleResult();
  const info = r.models[0]!;
  r.models = Array.from({ length: n }, (_, i) => ({ ...info, index: i, file: `m${i}.safetensors`, path: `/m/m${i}.safetensors`, notes: [] }));
  r.components = ['unet'];
  const group = (i: number) => (i <= 2 ? 0 : i === 5 || i === 6 ? 5 : -1 - i);
  const pairs: PairResult[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const same = group(a) === group(b);
      const d: ComponentDiff = { status: same ? 'identical' : 'changed', l2: same ? 0 : a + b / 100, cosine: 1, identical: same, equal_values: same, shared: 1, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0, changed: same ? 0 : 1, non_finite: 0, bytes_only: 0 };
      pairs.push({ a, b, components: { unet: d } as PairResult['components'], differences: { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false } });
    }
  }
  r.pairs = pairs;
  return r;
}

test('a large result is summarised: bit-identical groups and the closest differing pairs; --all-pairs lists every pair', () => {
  const r = bigResult(12);
  assert.ok(r.pairs.length > SUMMARY_ALL_PAIRS_UP_TO);
  assert.deepEqual(identicalGroups(r, 'unet'), [[0, 1, 2], [5, 6]]);
  const text = summary(r);
  assert.match(text, /Bit-identical components\n {2}unet {3}\[0\] m0\.safetensors = \[1\] m1\.safetensors = \[2\] m2\.safetensors; \[5\] m5\.safetensors = \[6\] m6\.safetensors/);
  const heads = text.split('\n').filter((l) => / {2}vs {2}/.test(l));
  assert.equal(heads.length, 30);
  assert.equal(heads[0], '  m0.safetensors  vs  m3.safetensors', 'the smallest L2 first (0 + 3/100)');
  const l2 = (p: (typeof r.pairs)[number]) => p.components.unet?.l2 ?? Infinity;
  const sorted = r.pairs.filter((p) => p.components.unet?.status === 'changed' && l2(p) > 0).sort((x, y) => l2(x) - l2(y));
  assert.deepEqual(heads, sorted.slice(0, 30).map((p) => `  ${r.models[p.a]!.file}  vs  ${r.models[p.b]!.file}`), 'the 30 least, in the order a stable sort gives');
  assert.match(text, /The 30 closest pairs that differ in unet \(L2; of 66;/);
  const all = summary(r, { allPairs: true }).split('\n').filter((l) => / {2}vs {2}/.test(l));
  assert.equal(all.length, 66);
  assert.equal(summary(bigResult(9)).split('\n').filter((l) => / {2}vs {2}/.test(l)).length, 36, 'small results list every pair');
});
