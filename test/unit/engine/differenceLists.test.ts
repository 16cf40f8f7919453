import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../../src/compute';
import { differenceListCap, LISTED_DIFFERENCES_BUDGET } from '../../../src/compute/engine/plan';
import { MAX_LISTED_DIFFERENCES } from '../../../src/shared/result';
import { base, layout, materialize } from '../../fixtures/synth';
import { tmpDir } from '../../helpers/tmp';

test('difference lists: one cap per result, from a total budget, never under 20', () => {
  assert.equal(differenceListCap(1), MAX_LISTED_DIFFERENCES);
  assert.equal(differenceListCap(136), MAX_LISTED_DIFFERENCES);
  assert.equal(differenceListCap(1000), Math.floor(LISTED_DIFFERENCES_BUDGET / 1000));
  assert.equal(differenceListCap((250 * 249) / 2), 20);
});

test('an SD 1.x / SDXL pair (UNets of different architectures: every key of theirs unmatched): lists match the counts up to the cap', async () => {
  const dir = tmpDir('modeldiff-difflists-');
  mkdirSync(join(dir, 'models'));
  materialize(base(layout('sd15', { scale: 64 }), 1), join(dir, 'models', 'sd1.safetensors'));
  materialize(base(layout('sdxl_base', { scale: 64 }), 2), join(dir, 'models', 'xl.safetensors'));
  const r = await compareModels([join(dir, 'models')], { outDir: join(dir, 'out'), workers: 0 });
  const p = r.pairs[0]!;
  const onlyA = Object.values(p.components).reduce((s, c) => s + c.only_a, 0);
  const onlyB = Object.values(p.components).reduce((s, c) => s + c.only_b, 0);
  const cap = differenceListCap(1);
  assert.ok(onlyA > 400 && onlyB > 1000, `${onlyA} / ${onlyB}`);
  assert.equal(p.components['unet']!.reason, 'different_architectures');
  assert.equal(p.differences.only_a.length, Math.min(onlyA, cap));
  assert.equal(p.differences.only_b.length, Math.min(onlyB, cap));
  assert.equal(p.differences.truncated, onlyA > cap || onlyB > cap);
});
