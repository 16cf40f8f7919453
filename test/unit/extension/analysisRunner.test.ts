import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyze, ANALYSIS_FILE, readAnalysis, writeAnalysis } from '../../../src/compute/analysis/analyze';
import { HashCache, modelHashes } from '../../../src/compute/analysis/hashes';
import type { AnalysisFile } from '../../../src/shared/analysis';
import { ModeldiffError, throwIfAborted } from '../../../src/shared/errors';
import { analysisMessage, AnalysisRunner, type AnalysisState, type RunnerDeps } from '../../../src/extension/analysis/runner';
import { base, cast, finetune, layout, merge } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from '../analysis/helpers';
import { sampleAnalysis } from './sampleAnalysis';
import { sampleResult } from './sampleResult';

const noYield = () => Promise.resolve();

/** Real deps (the engine's analyze, analysis.json on disk, hashes without a progress notification), counted. */
function realDeps(cacheFile: string) {
  const calls = { analyze: 0, hashFiles: 0, hashedPaths: [] as string[] };
  const logs: string[] = [];
  const deps: RunnerDeps = {
    analyze: (src, opts) => {
      calls.analyze++;
      return analyze(src, opts);
    },
    read: readAnalysis,
    write: (dir, a) => void writeAnalysis(dir, a),
    hashFiles: async (models, abort) => {
      calls.hashFiles++;
      const cache = new HashCache(cacheFile);
      for (const m of models) {
        calls.hashedPaths.push(m.path);
        await modelHashes(m.path, { components: true, cache, signal: abort.signal });
      }
      cache.save();
    },
    hashCache: cacheFile,
    log: (level, line) => logs.push(`${level}: ${line}`),
    yieldFirst: noYield,
  };
  return { deps, calls, logs };
}

function recorder(runner: AnalysisRunner) {
  const states: AnalysisState[] = [];
  runner.onDidChange((s) => states.push(s));
  return states;
}

describe('AnalysisRunner on a compared folder', () => {
  const root = tmpRoot('ext-analysis');
  let f: ComparedFolder;
  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = cast(base(L, 1), 'F16');
    const A = finetune(b, { components: ['unet'], sigma: 0.004, seed: 1 });
    const B = finetune(b, { components: ['unet'], sigma: 0.004, seed: 2 });
    f = await comparedFolder(root.path, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'm.safetensors', recipe: merge([A, B], [0.5, 0.5]) },
    ]);
  });
  after(() => root.cleanup());

  test('analyses once and writes analysis.json beside result.json; a later run re-uses it while it matches', async () => {
    const { deps, calls } = realDeps(join(root.path, 'cache-1.json'));
    const runner = new AnalysisRunner(deps);
    const states = recorder(runner);
    const src = { dir: f.out, result: f.result };
    const s = await runner.run(src, { reuse: true, timeEmbed: 'BASE', computeHashes: false });
    assert.deepEqual(states.map((x) => x.state), ['running', 'done']);
    assert.equal(s.outDir, f.out);
    assert.equal(s.analysis!.resultCreatedAt, f.result.createdAt);
    assert.equal(s.analysis!.recipes.length, 3);
    assert.ok(existsSync(join(f.out, ANALYSIS_FILE)));
    assert.equal(calls.analyze, 1);
    assert.equal(calls.hashFiles, 0);

    const again = await runner.run(src, { reuse: true, timeEmbed: 'BASE', computeHashes: false });
    assert.equal(calls.analyze, 1, 'the stored analysis.json was re-used');
    assert.equal(again.analysis!.createdAt, s.analysis!.createdAt);

    const in00 = await runner.run(src, { reuse: true, timeEmbed: 'IN00', computeHashes: false });
    assert.equal(calls.analyze, 2, 'another time_embed placement is analysed again');
    assert.equal(in00.analysis!.timeEmbed, 'IN00');
    assert.equal(readAnalysis(f.out).timeEmbed, 'IN00');

    await runner.run(src, { reuse: false, timeEmbed: 'IN00', computeHashes: false });
    assert.equal(calls.analyze, 3, 'reuse: false always analyses');
  });

  test('an analysis.json of an earlier result in the folder is not re-used', async () => {
    const { deps, calls } = realDeps(join(root.path, 'cache-2.json'));
    const stale = { ...sampleAnalysis(sampleResult()), resultCreatedAt: '2000-01-01T00:00:00.000Z' };
    writeFileSync(join(f.out, ANALYSIS_FILE), JSON.stringify(stale));
    const s = await new AnalysisRunner(deps).run({ dir: f.out, result: f.result }, { reuse: true, timeEmbed: 'BASE', computeHashes: false });
    assert.equal(calls.analyze, 1);
    assert.equal(s.analysis!.resultCreatedAt, f.result.createdAt);
    rmSync(join(f.out, ANALYSIS_FILE));
  });

  test('with hashes: the files are hashed first (into the cache), the analysis has every hash, and is re-used only with them', async () => {
    const cacheFile = join(root.path, 'cache-3.json');
    const { deps, calls } = realDeps(cacheFile);
    const runner = new AnalysisRunner(deps);
    const src = { dir: f.out, result: f.result };
    await runner.run(src, { reuse: false, timeEmbed: 'BASE', computeHashes: false });
    const s = await runner.run(src, { reuse: true, timeEmbed: 'BASE', computeHashes: true });
    assert.equal(calls.analyze, 2, 'an analysis without hashes is not re-used when hashes are wanted');
    assert.equal(calls.hashFiles, 1);
    assert.deepEqual(calls.hashedPaths, f.result.models.map((m) => m.path));
    assert.equal(s.analysis!.hashes!.length, 3);
    assert.ok(s.analysis!.hashes!.every((h) => h.hashes && h.components));
    assert.equal(s.analysis!.lineage.hashesUsed, true);
    assert.ok(existsSync(cacheFile));

    await runner.run(src, { reuse: true, timeEmbed: 'BASE', computeHashes: true });
    assert.equal(calls.analyze, 2, 'the analysis with hashes is re-used');
    assert.equal(calls.hashFiles, 1);
  });
});

/** Deps whose analyze waits until released (or aborted). */
function gatedDeps() {
  const gates: { release: () => void; reject: (e: unknown) => void; dir: string }[] = [];
  const written: string[] = [];
  const logs: string[] = [];
  const sample = sampleAnalysis(sampleResult());
  const deps: RunnerDeps = {
    analyze: (src, opts) =>
      new Promise<AnalysisFile>((resolve, reject) => {
        const createdAt = `${src.dir}#${gates.length + 1}`;
        const gate = { release: () => resolve({ ...sample, timeEmbed: opts.timeEmbed ?? 'BASE', createdAt }), reject, dir: src.dir };
        gates.push(gate);
        opts.signal?.addEventListener('abort', () => {
          try {
            throwIfAborted(opts.signal);
          } catch (e) {
            reject(e as Error);
          }
        });
      }),
    read: () => {
      throw new Error('no analysis.json');
    },
    write: (dir) => void written.push(dir),
    hashFiles: () => Promise.resolve(),
    hashCache: null,
    log: (level, line) => logs.push(`${level}: ${line}`),
    yieldFirst: noYield,
  };
  const started = async (n: number) => {
    while (gates.length < n) await new Promise((r) => setImmediate(r));
    return gates[n - 1]!;
  };
  return { deps, written, logs, started };
}

const req = { reuse: true, timeEmbed: 'BASE', computeHashes: false } as const;

test('a newer run supersedes an older one: the older is aborted and its end never reaches the state', async () => {
  const { deps, written, started } = gatedDeps();
  const runner = new AnalysisRunner(deps);
  const states = recorder(runner);
  const first = runner.run({ dir: '/r/1', result: sampleResult() }, req);
  await started(1);
  const second = runner.run({ dir: '/r/2', result: sampleResult() }, req);
  (await started(2)).release();
  const [s1, s2] = await Promise.all([first, second]);
  assert.deepEqual(states.map((s) => `${s.outDir} ${s.state}`), ['/r/1 running', '/r/2 running', '/r/2 done']);
  assert.equal(s1.outDir, '/r/2', 'the superseded run reports the newer state');
  assert.equal(s2.analysis!.createdAt, '/r/2#2');
  assert.deepEqual(written, ['/r/2']);
});

test('cancelling keeps the analysis on display, or says it was cancelled when there was none', async () => {
  const { deps, started } = gatedDeps();
  const runner = new AnalysisRunner(deps);
  const src = { dir: '/r/1', result: sampleResult() };
  const p1 = runner.run(src, req);
  await started(1);
  assert.equal(runner.cancel(), true);
  const s1 = await p1;
  assert.deepEqual([s1.state, s1.cancelled, s1.error], ['failed', true, 'The analysis was cancelled.']);
  assert.equal(runner.cancel(), false, 'nothing runs any more');

  const p2 = runner.run(src, req);
  (await started(2)).release();
  const done = await p2;
  assert.equal(done.state, 'done');
  const p3 = runner.run(src, { ...req, computeHashes: true });
  await started(3);
  runner.cancel();
  const s3 = await p3;
  assert.equal(s3.state, 'done');
  assert.equal(s3.analysis, done.analysis, 'the earlier analysis of the same result is shown again');
});

test('a failure is reported with its message; a failed write of analysis.json is only logged', async () => {
  const { deps, logs, started } = gatedDeps();
  const runner = new AnalysisRunner({
    ...deps,
    write: () => {
      throw new Error('read-only folder');
    },
  });
  const p1 = runner.run({ dir: '/r/1', result: sampleResult() }, req);
  (await started(1)).reject(new ModeldiffError('IO_ERROR', 'layers.bin is truncated'));
  const s1 = await p1;
  assert.deepEqual([s1.state, s1.error, s1.analysis], ['failed', 'layers.bin is truncated', null]);
  assert.ok(logs.some((l) => /^warn: analysis of \/r\/1 failed: IO_ERROR/.test(l)), logs.join('\n'));

  const p2 = runner.run({ dir: '/r/1', result: sampleResult() }, req);
  (await started(2)).release();
  assert.equal((await p2).state, 'done');
  assert.ok(logs.some((l) => /analysis\.json could not be written to \/r\/1: read-only folder/.test(l)), logs.join('\n'));
});

test('clear: the result is gone, the running analysis stops and the state is idle', async () => {
  const { deps, started } = gatedDeps();
  const runner = new AnalysisRunner(deps);
  const states = recorder(runner);
  const p = runner.run({ dir: '/r/1', result: sampleResult() }, req);
  await started(1);
  runner.clear();
  await p;
  assert.deepEqual(states.map((s) => s.state), ['running', 'idle']);
  assert.equal(runner.state.outDir, null);
});

test('panel messages: running first with no analysis, then done with it or failed with the error; nothing when idle', () => {
  const a = sampleAnalysis(sampleResult());
  assert.equal(analysisMessage({ outDir: null, state: 'idle', analysis: null }), null);
  assert.deepEqual(analysisMessage({ outDir: '/r', state: 'running', analysis: null }), { state: 'running', analysis: null });
  assert.deepEqual(analysisMessage({ outDir: '/r', state: 'done', analysis: a }), { state: 'done', analysis: a });
  assert.deepEqual(analysisMessage({ outDir: '/r', state: 'failed', analysis: null, error: 'boom' }), { state: 'failed', analysis: null, error: 'boom' });
});
