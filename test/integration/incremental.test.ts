/**
 * Incremental compare: a folder compared again into the same output reuses the earlier result. Added, removed and
 * changed models are found; only the pairs with a new or changed model are computed; the output is the one a fresh
 * run over the same folder writes, byte for byte: layers.bin and model_map_v2.json whole, and result.json bar the run's
 * own record, which says what that run did rather than what the models are:
 * - createdAt, stats.seconds: when and how long;
 * - stats.bytesRead: what this run read (an incremental run reads less);
 * - stats.incremental: present only in a run that reused a result (what it found, what it computed).
 * stats.tensorsCompared, stats.identicalGroups and stats.kernels are compared: they describe the models and the result.
 *
 * Byte identity with new or removed models rests on the engine's contract that a pair's bits depend on its two models
 * alone (engine/runTask.ts, engine/partialSums.ts); the "up to rounding" checks come first, so a re-indexing fault shows
 * as a wrong value rather than as a last-bit difference.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { compareModels, latestResultOf, type CompareOptions, type CompareResult } from '../../src/compute';
import { SUMS_FILE } from '../../src/compute/engine/checkpoint';
import { cast, makeFolder, materialize, zooSpec } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';

const root = tmpDir('modeldiff-incremental-');
const spec = zooSpec('sd15');
const base: Omit<CompareOptions, 'outDir'> = { workers: 0, memoryBudgetMiB: 64, taskWork: 20_000 };
const OLD = ['base.safetensors', 'other.safetensors', 'ft_unet.safetensors', 'ft_te_partial.safetensors', 'swapped_vae.safetensors'];

/** result.json with the run's own record blanked (see the file comment). */
function resultText(dir: string): string {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { createdAt: string; stats: Record<string, unknown> };
  r.createdAt = '';
  r.stats.seconds = 0;
  r.stats.bytesRead = 0;
  delete r.stats.incremental;
  return JSON.stringify(r, null, 1);
}

/**
 * The same output up to the last bits of the float values: every other value equal, every float within 1e-5
 * relative. Checks the re-indexing of models, keys and pairs; byte identity then checks the bits.
 */
function assertSameUpToRounding(dir: string, fresh: string): void {
  const near = (x: unknown, y: unknown, at: string): void => {
    if (typeof y === 'number' && !Number.isInteger(y)) {
      assert.ok(typeof x === 'number' && Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(y), 1e-1), `${at}: ${String(x)} here, ${y} fresh`);
    } else if (y && typeof y === 'object') {
      assert.equal(typeof x, 'object', at);
      assert.deepEqual(Object.keys(x as object), Object.keys(y), at);
      for (const [k, v] of Object.entries(y)) near((x as Record<string, unknown>)[k], v, `${at}.${k}`);
    } else assert.equal(x, y, at);
  };
  near(JSON.parse(resultText(dir)), JSON.parse(resultText(fresh)), 'result');
  const a = readFileSync(join(dir, 'layers.bin'));
  const b = readFileSync(join(fresh, 'layers.bin'));
  assert.equal(a.length, b.length);
  assert.ok(a.subarray(0, 24).equals(b.subarray(0, 24)), 'layers.bin header');
  const x = new Float32Array(a.buffer.slice(a.byteOffset + 24, a.byteOffset + a.length));
  const y = new Float32Array(b.buffer.slice(b.byteOffset + 24, b.byteOffset + b.length));
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(y[i]!)) assert.ok(Number.isNaN(x[i]!), `layers.bin value ${i} is NaN in the fresh run, ${x[i]} here`);
    else assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-5 * Math.max(1e-1, Math.abs(y[i]!)), `layers.bin value ${i}: ${x[i]} here, ${y[i]} fresh`);
  }
}

function assertSameOutput(dir: string, fresh: string): void {
  for (const f of ['layers.bin', 'model_map_v2.json']) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(fresh, f))), `${f} is byte-identical to the fresh run's`);
  assert.equal(resultText(dir), resultText(fresh), "result.json is the fresh run's, bar the run's own record");
}

async function run(folder: string, out: string, extra: Partial<CompareOptions> = {}): Promise<{ result: CompareResult; notices: string[] }> {
  const notices: string[] = [];
  const result = await compareModels([folder], { ...base, outDir: out, onNotice: (m) => notices.push(m), ...extra });
  return { result, notices };
}

function writeModel(folder: string, file: string, from = file): void {
  const m = spec.models.find((x) => x.file === from)!;
  materialize(m.recipe, join(folder, file), { ...(m.style ? { style: m.style } : {}), ...(m.metadata ? { metadata: m.metadata } : {}) });
}

describe('incremental compare', () => {
  const folder = join(root, 'models');
  before(() => {
    makeFolder(folder, spec, { only: OLD });
  });

  it('the same folder again: nothing read, every pair kept, the same output', async () => {
    const out = join(root, 'same');
    const first = await run(folder, out);
    assert.ok(existsSync(join(out, SUMS_FILE)), 'the partial sums are kept beside result.json');
    assert.equal(first.result.stats.incremental, undefined);
    const again = await run(folder, out);
    assert.equal(again.result.stats.bytesRead, 0, 'no tensor byte is read');
    assert.deepEqual(again.result.stats.incremental, { previous: out, kept: 5, new: 0, changed: 0, removed: 0, pairsComputed: 0, pairsKept: 10 });
    assert.ok(again.notices.some((m) => /no model added, changed or removed: nothing to read; 10 pairs kept/.test(m)), again.notices.join('\n'));
    const fresh = join(root, 'same-fresh');
    await run(folder, fresh);
    assertSameOutput(out, fresh);
  });

  describe('3 new models, then 2 removed, then 1 changed', () => {
    const dir = join(root, 'grow');
    const out = join(root, 'grow-out');
    before(async () => {
      makeFolder(dir, spec, { only: OLD });
      await run(dir, out);
      // new: one bit-identical to an old model, one with keys the others lack, one merge of two old ones
      copyFileSync(join(dir, 'base.safetensors'), join(dir, 'copy_of_base.safetensors'));
      writeModel(dir, 'extra_keys.safetensors');
      writeModel(dir, 'merge_ft_unet_ft_te.safetensors');
    });

    it('finds 3 new models and computes only their pairs', async () => {
      // (in the worker pool: the rows wanted travel with the tasks)
      const r = await run(dir, out, { workers: 2 });
      assert.deepEqual(r.result.stats.incremental, { previous: out, kept: 5, new: 3, changed: 0, removed: 0, pairsComputed: 18, pairsKept: 10 });
      assert.ok(r.notices.some((m) => m.endsWith('3 new: computing 18 pairs (3 x 8); 10 pairs kept')), r.notices.join('\n'));
      assert.equal(r.result.models.length, 8);
      assert.equal(r.result.pairs.length, 28);
      const fresh = join(root, 'grow-fresh');
      const f = await run(dir, fresh, { fresh: true, workers: 2 });
      assert.equal(f.result.stats.incremental, undefined, '--fresh reuses nothing');
      assertSameUpToRounding(out, fresh);
    });

    it('equals a fresh run on all 8, byte for byte', () => {
      assertSameOutput(out, join(root, 'grow-fresh'));
    });

    it('2 removed: nothing is read, the result is rebuilt from the kept sums', async () => {
      unlinkSync(join(dir, 'other.safetensors'));
      unlinkSync(join(dir, 'extra_keys.safetensors'));
      const r = await run(dir, out);
      assert.deepEqual(r.result.stats.incremental, { previous: out, kept: 6, new: 0, changed: 0, removed: 2, pairsComputed: 0, pairsKept: 15 });
      assert.equal(r.result.stats.bytesRead, 0, 'no tensor byte is read');
      assert.ok(r.notices.some((m) => m.endsWith('2 removed: nothing to read; 15 pairs kept')), r.notices.join('\n'));
      await run(dir, join(root, 'shrink-fresh'), { fresh: true });
      assertSameUpToRounding(out, join(root, 'shrink-fresh'));
    });

    it('after the removal, equals a fresh run on the 6 left', () => {
      assertSameOutput(out, join(root, 'shrink-fresh'));
    });

    it('a model rewritten in place is found changed and compared again', async () => {
      writeModel(dir, 'ft_unet.safetensors', 'other.safetensors');
      const r = await run(dir, out);
      assert.deepEqual(r.result.stats.incremental, { previous: out, kept: 5, new: 0, changed: 1, removed: 0, pairsComputed: 5, pairsKept: 10 });
      assert.ok(r.notices.some((m) => m.endsWith('1 changed: computing 5 pairs (1 x 6); 10 pairs kept')), r.notices.join('\n'));
      assert.ok(r.result.stats.bytesRead > 0);
      await run(dir, join(root, 'changed-fresh'), { fresh: true });
      assertSameUpToRounding(out, join(root, 'changed-fresh'));
    });

    it('after the change, equals a fresh run', () => {
      assertSameOutput(out, join(root, 'changed-fresh'));
    });
  });

  it('the CLI says on stderr what it reuses, and --fresh reuses nothing', () => {
    const CLI = resolve(__dirname, '../../dist/cli.js');
    const out = join(root, 'cli-out');
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'compare', folder, '--out', out, '-q', ...args], { encoding: 'utf8' });
    assert.equal(cli().status, 0);
    const again = cli();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /^modeldiff: reusing .*cli-out: no model added, changed or removed: nothing to read; 10 pairs kept$/m);
    const fresh = cli('--fresh');
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stderr, /reusing/);
    assert.equal((JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as CompareResult).stats.incremental, undefined);
  });

  it('a run writing a new folder each time (the extension) reuses the newest result of the same inputs', async () => {
    const results = join(root, 'extension-results');
    assert.equal(latestResultOf(results, [folder]), null, 'no results yet');
    const first = join(results, '2026-01-01T00-00-00-000Z');
    await run(folder, first);
    await run(join(folder, 'base.safetensors'), join(results, 'other-inputs'));
    assert.equal(latestResultOf(results, [folder]), first);
    const second = join(results, '2026-01-02T00-00-00-000Z');
    const r = await run(folder, second, { previous: latestResultOf(results, [folder])! });
    assert.equal(r.result.stats.incremental?.previous, first);
    assert.equal(r.result.stats.bytesRead, 0);
    assert.ok(existsSync(join(first, 'result.json')), 'the earlier folder is left as it was');
    assert.equal(latestResultOf(results, [folder]), second, 'the newest result of these inputs');
  });

  it('--fresh, other options, or a result without partial sums: every pair is computed, and the notice says why', async () => {
    const out = join(root, 'why');
    await run(folder, out);
    const fresh = await run(folder, out, { fresh: true });
    assert.equal(fresh.result.stats.incremental, undefined);
    assert.ok(fresh.result.stats.bytesRead > 0);
    assert.deepEqual(fresh.notices, [], '--fresh says nothing: it was asked for');

    // the worker count and the memory budget change no number: the result is reused
    const budget = await run(folder, out, { memoryBudgetMiB: 32, workers: 1 });
    assert.equal(budget.result.stats.incremental?.kept, 5);
    const other = await run(folder, out, { includeEma: false });
    assert.equal(other.result.stats.incremental, undefined);
    assert.ok(other.notices.some((m) => /is not reused \(other options: .* then, .* now\): computing every pair/.test(m)), other.notices.join('\n'));

    // a result written before the partial sums were kept
    rmSync(join(out, SUMS_FILE));
    const older = await run(folder, out, { includeEma: false });
    assert.equal(older.result.stats.incremental, undefined);
    assert.ok(older.notices.some((m) => /is not reused \(it keeps no partial sums: written by an earlier modeldiff\)/.test(m)), older.notices.join('\n'));
    assert.ok(existsSync(join(out, SUMS_FILE)), 'the new result keeps its own');
  });

  it('a model that moves kept pairs to another engine route (float64 tensors) falls back to a fresh run, added or removed', async () => {
    const dir = join(root, 'route');
    const out = join(root, 'route-out');
    makeFolder(dir, spec, { only: OLD.slice(0, 3) });
    await run(dir, out);
    const b = spec.models.find((x) => x.file === 'base.safetensors')!;
    materialize(cast(b.recipe, 'F64'), join(dir, 'base_f64.safetensors'));
    const added = await run(dir, out);
    assert.equal(added.result.stats.incremental, undefined);
    assert.ok(added.notices.some((m) => /is not reused \(the models added or removed change how .* is compared between the others\): computing every pair/.test(m)), added.notices.join('\n'));
    unlinkSync(join(dir, 'base_f64.safetensors'));
    const removed = await run(dir, out);
    assert.equal(removed.result.stats.incremental, undefined);
    assert.ok(removed.notices.some((m) => /change how .* is compared between the others/.test(m)), removed.notices.join('\n'));
    const fresh = join(root, 'route-fresh');
    await run(dir, fresh, { fresh: true });
    assertSameOutput(out, fresh);
  });

  it('an interrupted incremental run leaves the old output as it was', async () => {
    const dir = join(root, 'stop');
    const out = join(root, 'stop-out');
    makeFolder(dir, spec, { only: OLD.slice(0, 3) });
    await run(dir, out);
    const before = ['result.json', 'layers.bin', 'model_map_v2.json', SUMS_FILE].map((f) => readFileSync(join(out, f)));
    writeModel(dir, 'swapped_vae.safetensors');
    const stop = new AbortController();
    await assert.rejects(
      run(dir, out, {
        signal: stop.signal,
        onProgress: (p) => {
          if (p.phase === 'comparing' && p.bytesDone > 0) stop.abort();
        },
      }),
      /cancel/i,
    );
    ['result.json', 'layers.bin', 'model_map_v2.json', SUMS_FILE].forEach((f, i) => assert.ok(readFileSync(join(out, f)).equals(before[i]!), `${f} is the old one`));
    // the next run finishes the work (carrying on from what the stopped one kept, if anything)
    const r = await run(dir, out);
    assert.equal(r.result.stats.incremental?.new, 1);
    assert.equal(existsSync(`${out}.partial`), false);
    const fresh = join(root, 'stop-fresh');
    await run(dir, fresh, { fresh: true });
    assertSameOutput(out, fresh);
  });
});
