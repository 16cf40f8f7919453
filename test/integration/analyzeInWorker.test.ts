import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyze } from '../../src/compute/analysis/analyze';
import { analyzeInWorker } from '../../src/compute/workers/analyzeInWorker';
import { base, finetune, layout } from '../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from '../unit/analysis/helpers';

describe('analyzeInWorker', () => {
  const root = tmpRoot('analyze-worker');
  let f: ComparedFolder;
  before(async () => {
    const b = base(layout('sd15', { scale: 32 }), 1);
    f = await comparedFolder(root.path, [
      { file: 'a.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.01, seed: 1 }) },
      { file: 'b.safetensors', recipe: finetune(b, { components: ['unet', 'te'], sigma: 0.01, seed: 2 }) },
      { file: 'base.safetensors', recipe: b },
    ]);
  });
  after(() => root.cleanup());

  test('gives what analyze gives in this thread, with its steps', async () => {
    const steps: string[] = [];
    const inWorker = await analyzeInWorker(f.out, { hashCache: null, timeEmbed: 'IN00', onStep: (s) => steps.push(s) });
    const here = await analyze(f.out, { hashCache: null, timeEmbed: 'IN00' });
    assert.deepEqual({ ...inWorker, createdAt: '' }, { ...here, createdAt: '' });
    assert.deepEqual(steps, ['breakdowns', 'merge-recipe estimates', 'family views', 'lineage', 'health']);
  });

  test('cancellation and failures arrive as ModeldiffErrors', async () => {
    const abort = new AbortController();
    const run = analyzeInWorker(f.out, { hashCache: null, signal: abort.signal, onStep: () => abort.abort() });
    await assert.rejects(run, (e: Error & { code?: string }) => e.code === 'CANCELLED');
    await assert.rejects(analyzeInWorker(join(root.path, 'nowhere'), { hashCache: null }), (e: Error & { code?: string }) => e.code === 'USAGE' || e.code === 'IO_ERROR');
  });
});
