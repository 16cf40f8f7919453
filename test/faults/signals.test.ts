/**
 * `modeldiff compare` stopped by SIGINT, SIGTERM or SIGKILL while it compares into a folder that holds an earlier
 * result, then run again: the folder holds the old result, byte for byte, until a run finishes, then the new one,
 * whole; a run stopped by SIGINT or SIGTERM (exit 130, 143) leaves beside it at most its staging folder with a
 * checkpoint of the work it finished (nothing when it had finished none); one killed leaves its staging folder, which
 * the next run carries on from or removes. (resume.test.ts: the run carried on is byte-identical to one never stopped.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { CompareResult } from '../../src/shared/result';
import { tmpDir } from '../helpers/tmp';
import { spawnCompare, type Ended } from './spawnCompare';
import { assertNoDebris, assertSameNumbers, assertUnchanged, assertWhole, snapshot, writeFaultModels } from './fixture';

/** Nothing beside `out`, or only the staging folder of a stopped run holding its checkpoint. */
function assertNothingButCheckpoint(out: string, old: Map<string, Buffer> | null): void {
  const staging = `${out}.partial`;
  if (existsSync(join(staging, 'partial-sums.mdsum'))) {
    assert.ok(!existsSync(join(staging, 'result.json')), 'the staging folder holds a checkpoint, not a result');
    if (old) assert.deepEqual(snapshot(out), old, 'the earlier result is untouched');
    else assert.ok(!existsSync(out), 'no output folder');
    return;
  }
  if (old) assertUnchanged(out, old);
  else {
    assert.ok(!existsSync(out), 'no output folder');
    assertNoDebris(out);
  }
}

const root = tmpDir('modeldiff-signals-');

/** A model whose one tensor is 1 GiB of zeros in a sparse file: no disk space, but a second or more of engine work. */
function slowModel(path: string): void {
  const bytes = 1 << 30;
  const header = Buffer.from(JSON.stringify({ 'model.diffusion_model.slow.weight': { dtype: 'F32', shape: [bytes / 4], data_offsets: [0, bytes] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([prefix, header]));
  truncateSync(path, 8 + header.length + bytes);
}

/** Runs `modeldiff compare`; `stop`, if given, is sent once the run is comparing (its staging folder has layers.bin). */
function compare(inputs: string[], out: string, stop?: NodeJS.Signals): Promise<Ended> {
  return spawnCompare(inputs, out, { args: ['--workers', '2'], ...(stop ? { stop: { signal: stop, when: join(`${out}.partial`, 'layers.bin') } } : {}) });
}

describe('SIGINT, SIGTERM, SIGKILL during compare, and a re-run', () => {
  const models = join(root, 'models');
  let good: string[] = [];
  let slow = '';
  let first: CompareResult;
  before(async () => {
    mkdirSync(models, { recursive: true });
    good = writeFaultModels(models, ['a.safetensors', 'b.safetensors', 'c.safetensors']);
    slow = join(root, 'slow.safetensors');
    slowModel(slow);
    const out = join(root, 'first');
    const r = await compare(good, out);
    assert.equal(r.code, 0, r.stderr);
    first = assertWhole(out);
  });

  for (const [stop, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${stop}: exit ${code}, the earlier result untouched byte for byte, nothing but a checkpoint left beside it; a re-run replaces it whole`, async () => {
      const out = join(root, `out-${stop}`);
      assert.equal((await compare(good, out)).code, 0);
      const old = snapshot(out);
      const stopped = await compare([...good, slow], out, stop);
      assert.equal(stopped.signal, null, `handled, not killed by ${stop}`);
      assert.equal(stopped.code, code, stopped.stderr);
      assert.match(stopped.stderr, /cancelled/);
      assertNothingButCheckpoint(out, old);

      const again = await compare([...good, slow], out);
      assert.equal(again.code, 0, again.stderr);
      const result = assertWhole(out);
      assert.equal(result.models.length, 4);
      assertSameNumbers(result, first);
    });

    it(`${stop} on a first run: no output folder, nothing but a checkpoint left beside it`, async () => {
      const out = join(root, `new-${stop}`);
      const stopped = await compare([...good, slow], out, stop);
      assert.equal(stopped.code, code, stopped.stderr);
      assertNothingButCheckpoint(out, null);
    });
  }

  it('SIGKILL: the earlier result untouched; the re-run takes over or removes the staging folder the killed run left and replaces the result whole', async () => {
    const out = join(root, 'out-SIGKILL');
    assert.equal((await compare(good, out)).code, 0);
    const old = snapshot(out);
    const killed = await compare([...good, slow], out, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(snapshot(out), old, 'the earlier result is untouched');
    assert.ok(existsSync(`${out}.partial`), 'a killed run cannot clean up: its staging folder stays until the next run');

    const again = await compare([...good, slow], out);
    assert.equal(again.code, 0, again.stderr);
    const result = assertWhole(out);
    assert.deepEqual(result.models.map((m) => m.file), ['a.safetensors', 'b.safetensors', 'c.safetensors', 'slow.safetensors']);
    assertSameNumbers(result, first);
  });
});
