/**
 * Resume and shards give the bits of one uninterrupted run: a run stopped after some checkpoints and run again, and
 * four (or three) shards merged, write layers.bin, model_map_v2.json and result.json byte for byte as a fresh run does
 * (result.json bar the run's own record: createdAt, seconds, and bytes read / guard recomputes, which count what each
 * run did). In the calling thread, with tasks made small so that small files give many leaves.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compareModels, computeShard, mergeShards, type CompareOptions } from '../../../src/compute';
import { SUMS_FILE } from '../../../src/compute/engine/checkpoint';
import { tmpDir } from '../../helpers/tmp';
import { writeFaultModels } from '../../faults/fixture';

const root = tmpDir('modeldiff-resume-');
const base: Omit<CompareOptions, 'outDir'> = { workers: 0, memoryBudgetMiB: 64, taskWork: 20_000, checkpointSeconds: 0 };

/** result.json with the run's own record blanked. */
function resultText(dir: string): string {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { createdAt: string; stats: Record<string, unknown> };
  r.createdAt = '';
  r.stats.seconds = 0;
  r.stats.bytesRead = 0;
  return JSON.stringify(r, null, 1);
}

function assertSameOutput(dir: string, fresh: string): void {
  for (const f of ['layers.bin', 'model_map_v2.json']) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(fresh, f))), `${f} is byte-identical to the fresh run's`);
  assert.equal(resultText(dir), resultText(fresh), 'result.json is the fresh run\'s, bar createdAt and the run stats');
  assert.equal(existsSync(`${dir}.partial`), false, 'nothing left beside the output');
}

describe('resume and shards are byte-identical to a fresh run', () => {
  let models: string[] = [];
  const fresh = join(root, 'fresh');
  before(async () => {
    mkdirSync(join(root, 'models'));
    models = writeFaultModels(join(root, 'models'), ['a.safetensors', 'b.safetensors', 'c.safetensors', 'd.safetensors', 'e.safetensors'], { tensors: 6, elements: 4096 });
    await compareModels(models, { ...base, outDir: fresh });
  });

  it('a run stopped after a few checkpoints carries on from the last one', async () => {
    const out = join(root, 'resumed');
    const stop = new AbortController();
    let leaves = 0;
    await assert.rejects(
      compareModels(models, {
        ...base,
        outDir: out,
        signal: stop.signal,
        onCheckpoint: (finished, of) => {
          leaves = of;
          if (finished >= 5) stop.abort();
        },
      }),
      /cancel/i,
    );
    assert.ok(leaves > 10, `the work is split into many leaves (${leaves})`);
    assert.ok(existsSync(join(`${out}.partial`, SUMS_FILE)), 'the checkpoint is kept after Ctrl-C');
    assert.equal(existsSync(out), false, 'no output yet');
    const notices: string[] = [];
    const checkpoints: number[] = [];
    await compareModels(models, { ...base, outDir: out, onNotice: (m) => notices.push(m), onCheckpoint: (f) => checkpoints.push(f) });
    assert.ok(notices.some((m) => m.startsWith('carrying on from the checkpoint')), notices.join('\n'));
    assert.ok(checkpoints[0]! >= 6, `the resumed run did not redo the finished leaves (first checkpoint at ${checkpoints[0]} leaves)`);
    assertSameOutput(out, fresh);
  });

  it('a checkpoint about files that changed since is ignored, with a message', async () => {
    const out = join(root, 'changed');
    const stop = new AbortController();
    await assert.rejects(compareModels(models, { ...base, outDir: out, signal: stop.signal, onCheckpoint: (f) => f >= 3 && stop.abort() }), /cancel/i);
    const now = new Date();
    utimesSync(models[2]!, now, new Date(now.getTime() - 60_000));
    const notices: string[] = [];
    await compareModels(models, { ...base, outDir: out, onNotice: (m) => notices.push(m) });
    assert.ok(notices.some((m) => /not used: .*c\.safetensors changed/.test(m)), notices.join('\n'));
    assertSameOutput(out, fresh);
  });

  it('a checkpoint made with other options is ignored, with a message', async () => {
    const out = join(root, 'options');
    const stop = new AbortController();
    await assert.rejects(compareModels(models, { ...base, outDir: out, signal: stop.signal, onCheckpoint: (f) => f >= 3 && stop.abort() }), /cancel/i);
    const notices: string[] = [];
    await compareModels(models, { ...base, components: ['unet'], outDir: out, onNotice: (m) => notices.push(m) });
    assert.ok(notices.some((m) => /not used: the options differ/.test(m)), notices.join('\n'));
  });

  it('a checkpoint made with another memory budget and task size is used: they change no number', async () => {
    const out = join(root, 'budget');
    const stop = new AbortController();
    await assert.rejects(compareModels(models, { ...base, outDir: out, signal: stop.signal, onCheckpoint: (f) => f >= 3 && stop.abort() }), /cancel/i);
    const notices: string[] = [];
    await compareModels(models, { ...base, memoryBudgetMiB: 1, taskWork: 3_000, outDir: out, onNotice: (m) => notices.push(m) });
    assert.ok(notices.some((m) => /carrying on from the checkpoint/.test(m)), notices.join('\n'));
    // the same bytes, bar the options this run was given (its record of them)
    const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { options: { memoryBudgetMiB: number } };
    assert.equal(r.options.memoryBudgetMiB, 1);
    r.options.memoryBudgetMiB = 64;
    writeFileSync(join(out, 'result.json'), JSON.stringify(r, null, 1));
    assertSameOutput(out, fresh);
  });

  it('--fresh starts again whatever the checkpoint', async () => {
    const out = join(root, 'fresh-flag');
    const stop = new AbortController();
    await assert.rejects(compareModels(models, { ...base, outDir: out, signal: stop.signal, onCheckpoint: (f) => f >= 3 && stop.abort() }), /cancel/i);
    const notices: string[] = [];
    const checkpoints: number[] = [];
    await compareModels(models, { ...base, outDir: out, fresh: true, onNotice: (m) => notices.push(m), onCheckpoint: (f) => checkpoints.push(f) });
    assert.equal(notices.length, 0);
    assert.equal(checkpoints[0], 1, 'started from nothing');
    assertSameOutput(out, fresh);
  });

  for (const count of [4, 3]) {
    it(`${count} shards merged are the single run`, async () => {
      const dirs: string[] = [];
      let leaves = 0;
      for (let i = 0; i < count; i++) {
        const dir = join(root, `shards${count}`, `s${i}`);
        const s = await computeShard(models, { ...base, outDir: dir, shard: { index: i, count } });
        assert.ok(s.leaves > 0, `shard ${i} has work`);
        leaves += s.leaves;
        dirs.push(dir);
      }
      const out = join(root, `merged${count}`);
      await mergeShards(dirs.reverse(), { outDir: out });
      assert.ok(leaves > 10);
      assertSameOutput(out, fresh);
    });
  }

  it('a merge refuses a missing shard and a shard given twice', async () => {
    const dirs = [0, 1, 2, 3].map((i) => join(root, 'shards4', `s${i}`));
    await assert.rejects(mergeShards(dirs.slice(0, 3), { outDir: join(root, 'bad1') }), /undone/);
    await assert.rejects(mergeShards([...dirs, dirs[1]!], { outDir: join(root, 'bad2') }), /overlaps/);
  });
});
