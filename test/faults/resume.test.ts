/**
 * Resume after SIGKILL, SIGINT and SIGTERM (a power cut is SIGKILL to the process; the checkpoint is synced before it
 * counts): `modeldiff compare` stopped once it has written a checkpoint, then run again with the same command, carries
 * on from the checkpoint and writes layers.bin and model_map_v2.json byte for byte as a run never stopped, and
 * result.json too bar the run's own record (createdAt, seconds, bytes read, guard recomputes). The worker pool
 * (2 threads) computes both.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { tmpDir } from '../helpers/tmp';
import { assertWhole, writeFaultModels } from './fixture';
import { spawnCompare, type Ended } from './spawnCompare';

const root = tmpDir('modeldiff-resume-faults-');
const CHECKPOINT = 'partial-sums.mdsum';

/** Tensors of 64M zeros in a sparse file: no disk space, and several parts of the work after the real models'. */
function zerosModel(path: string, tensors: number): void {
  const bytes = 1 << 28;
  const entries: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++) entries[`model.diffusion_model.zeros.${i}.weight`] = { dtype: 'F32', shape: [bytes / 4], data_offsets: [i * bytes, (i + 1) * bytes] };
  const header = Buffer.from(JSON.stringify(entries));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([prefix, header]));
  truncateSync(path, 8 + header.length + tensors * bytes);
}

/** Runs `modeldiff compare` with a checkpoint after every part of the work; `stop` is sent once the first is written. */
function compare(inputs: string[], out: string, stop?: NodeJS.Signals): Promise<Ended> {
  return spawnCompare(inputs, out, {
    args: ['--workers', '2'],
    env: { MODELDIFF_CHECKPOINT_SECONDS: '0' },
    ...(stop ? { stop: { signal: stop, when: join(`${out}.partial`, CHECKPOINT) } } : {}),
  });
}

function resultText(dir: string): string {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { createdAt: string; stats: Record<string, unknown> };
  r.createdAt = '';
  r.stats.seconds = 0;
  r.stats.bytesRead = 0;
  r.stats.guardRecomputes = 0;
  return JSON.stringify(r, null, 1);
}

describe('a run stopped after a checkpoint carries on from it, byte-identical to a run never stopped', () => {
  const models = join(root, 'models');
  let inputs: string[] = [];
  const fresh = join(root, 'fresh');
  before(async () => {
    mkdirSync(models, { recursive: true });
    inputs = writeFaultModels(models, ['a.safetensors', 'b.safetensors', 'c.safetensors']);
    const zeros = join(root, 'zeros.safetensors');
    zerosModel(zeros, 8);
    inputs.push(zeros);
    const r = await compare(inputs, fresh);
    assert.equal(r.code, 0, r.stderr);
  });

  for (const [stop, code] of [
    ['SIGKILL', null],
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${stop}, then the same command`, async () => {
      const out = join(root, `out-${stop}`);
      const stopped = await compare(inputs, out, stop);
      if (stop === 'SIGKILL') assert.equal(stopped.signal, 'SIGKILL');
      else assert.equal(stopped.code, code, stopped.stderr);
      assert.ok(!existsSync(join(out, 'result.json')), 'stopped before the end (the test needs the run to outlast its first checkpoint)');
      assert.ok(existsSync(join(`${out}.partial`, CHECKPOINT)), 'the checkpoint is kept');
      if (stop !== 'SIGKILL') assert.match(stopped.stderr, /run the same command again to carry on/);

      const again = await compare(inputs, out);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /carrying on from the checkpoint .*\((\d+) of \d+ parts of the work done\)/);
      assert.ok(Number(/\((\d+) of/.exec(again.stderr)![1]) > 0, 'some work was carried over');
      assertWhole(out);
      for (const f of ['layers.bin', 'model_map_v2.json']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(fresh, f))), `${f}: byte-identical to the run never stopped`);
      assert.equal(resultText(out), resultText(fresh));
    });
  }
});
