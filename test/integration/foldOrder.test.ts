/**
 * The worker pool's numbers do not depend on which thread finishes first: two pool runs, and a run in the calling
 * thread with the same memory budget per worker (so the same chunks), write the same bytes. Before the fixed fold
 * order (engine/partialSums.ts) pool runs differed from each other near 1e-13.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../src/compute';
import { tmpDir } from '../helpers/tmp';
import { writeFaultModels } from '../faults/fixture';

function numbers(dir: string): string {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { pairs: unknown; models: unknown };
  return JSON.stringify({ pairs: r.pairs, models: r.models });
}

test('pool runs and the calling thread give the same bits (same chunks), however the threads finish', async () => {
  const root = tmpDir('modeldiff-fold-');
  mkdirSync(join(root, 'm'));
  const models = writeFaultModels(join(root, 'm'), ['a.safetensors', 'b.safetensors', 'c.safetensors', 'd.safetensors', 'e.safetensors', 'f.safetensors'], { tensors: 6, elements: 1 << 16 });
  const runs = [
    { workers: 2, memoryBudgetMiB: 64 },
    { workers: 2, memoryBudgetMiB: 64 },
    { workers: 3, memoryBudgetMiB: 96 },
    { workers: 0, memoryBudgetMiB: 32 },
  ];
  const outs: string[] = [];
  for (const [i, o] of runs.entries()) {
    const out = join(root, `out${i}`);
    // small tasks: many of them in flight at once, finishing in any order
    await compareModels(models, { ...o, outDir: out, taskWork: 50_000 });
    outs.push(out);
  }
  for (const out of outs.slice(1)) {
    assert.ok(readFileSync(join(out, 'layers.bin')).equals(readFileSync(join(outs[0]!, 'layers.bin'))), `${out}: layers.bin`);
    assert.equal(numbers(out), numbers(outs[0]!), `${out}: every pair's numbers and every model's health`);
  }
});
