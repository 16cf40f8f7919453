import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { seriate as seriateDistances } from '../../../src/shared/clustering';
import { componentDistances } from '../../../src/shared/distanceCell';
import type { CompareResult } from '../../../src/shared/result';
import { buildMatrix } from '../../../src/webview/logic/matrix';
import { seriate } from '../../../src/webview/logic/seriation';
import { defaultScale, makeScale, washedOut } from '../../../src/webview/logic/colorScale';
import { makeResult } from '../../webview/fixture';
import { writeLargeResult } from '../../fixtures/largeResult';
import { tmpDir } from '../../helpers/tmp';

describe('seriation of a drawn matrix', () => {
  test('the host clusters what the panel draws: same distances, same order, clusters and backbone', () => {
    const dir = tmpDir();
    writeLargeResult(dir, { models: 30, families: 3, keyStride: 64 });
    const big = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
    for (const r of [makeResult(), big])
      for (const c of r.components)
        for (const metric of ['l2', 'cosine'] as const) {
          const panel = seriate(buildMatrix(r, c, metric));
          const host = seriateDistances(r.models.length, componentDistances(r, c, metric));
          assert.deepEqual(host, panel, `${c} ${metric}`);
        }
  });

  test('not comparable and absent cells are holes, never 0; identical and equal cells are 0', () => {
    const r = makeResult();
    const d = componentDistances(r, 'te', 'l2');
    // te of model 4 is not comparable with the others
    const at = (i: number, j: number) => d[i * 5 - (i * (i + 1)) / 2 + (j - i - 1)];
    assert.ok(Number.isNaN(at(0, 4)!));
    assert.equal(at(0, 2), 0, 'te of 0 and 2 is identical');
  });
});

describe('colour scales', () => {
  const typical = [1, 1.1, 1.2, 1.3, 1.25, 1.15, 1.05, 1.22];
  const withOutlier = [...typical, 40];

  test('linear, log and rank positions', () => {
    const lin = makeScale('linear', withOutlier);
    assert.equal(lin.position(1), 0);
    assert.equal(lin.position(40), 1);
    assert.ok(lin.position(1.3) < 0.01, 'one outlier squeezes the rest at the bottom');
    const log = makeScale('log', withOutlier);
    assert.ok(log.position(1.3) > 0.06 && log.position(1.3) < 0.1);
    assert.ok(Math.abs(log.position(Math.sqrt(40)) - 0.5) < 1e-12, 'the geometric mean in the middle');
    assert.equal(log.position(0), 0, 'a 0 sits at the low end of a log scale');
    const rank = makeScale('rank', withOutlier);
    const sorted = [...new Set(withOutlier)].sort((a, b) => a - b);
    sorted.forEach((v, k) => assert.equal(rank.position(v), k / (sorted.length - 1)));
    assert.equal(makeScale('rank', [2, 2, 2]).position(2), 0.5, 'one distinct value: the middle');
    assert.equal(makeScale('log', [0, 0]).kind, 'linear', 'log needs a positive distance');
  });

  test('the default is linear unless one outlier washes it out', () => {
    assert.equal(washedOut(typical), false);
    assert.equal(defaultScale(typical), 'linear');
    assert.equal(washedOut(withOutlier), true);
    assert.equal(defaultScale(withOutlier), 'log');
    assert.equal(defaultScale([0, 0, 0, 0, 0, 0, 0, 1]), 'log', 'positive values exist');
  });
});
