/**
 * `modeldiff compare --shard i/n` and `modeldiff merge` from the command line: 4 shards (the worker pool) merged write
 * the bytes of one run (result.json bar createdAt and seconds: even the bytes read add up); usage errors for a bad --shard, --hashes with a
 * shard, a missing shard, a folder that is not a shard's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { makeFolder, zooSpec } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';

const CLI = resolve(__dirname, '../../dist/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

function resultText(dir: string): string {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { createdAt: string; stats: Record<string, unknown> };
  r.createdAt = '';
  r.stats.seconds = 0;
  return JSON.stringify(r, null, 1);
}

test('4 shards merged are one run, byte for byte', () => {
  const dir = tmpDir();
  const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15'), {
    only: ['base.safetensors', 'ft_unet.safetensors', 'base_fp32.safetensors', 'animefull_nai.safetensors', 'no_vae.safetensors'],
  });
  const single = join(dir, 'single');
  const one = cli('compare', manifest.dir, '--out', single, '--workers', '2', '--memory', '64', '--quiet');
  assert.equal(one.status, 0, one.stderr);
  const shards = [0, 1, 2, 3].map((i) => join(dir, `shard${i}`));
  let leaves = 0;
  let of = 0;
  for (const [i, s] of shards.entries()) {
    const r = cli('compare', manifest.dir, '--out', s, '--shard', `${i}/4`, '--workers', '2', '--memory', '64');
    assert.equal(r.status, 0, r.stderr);
    const m = new RegExp(`^shard ${i}/4: (\\d+) of (\\d+) parts of the work`).exec(r.stdout);
    assert.ok(m, r.stdout);
    leaves += Number(m[1]);
    of = Number(m[2]);
  }
  // (these small files are a few parts of work: test/unit/pipeline/resumeShards.test.ts merges shards of many)
  assert.equal(leaves, of, 'the shards share the work out, every part once');
  const missing = cli('merge', ...shards.slice(1), '--out', join(dir, 'bad'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /undone: give every shard's folder/);
  const merged = join(dir, 'merged');
  const m = cli('merge', ...shards, '--out', merged);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, /5 models, 10 pairs/);
  for (const f of ['layers.bin', 'model_map_v2.json']) assert.ok(readFileSync(join(merged, f)).equals(readFileSync(join(single, f))), f);
  assert.equal(resultText(merged), resultText(single));

  const badShard = cli('compare', manifest.dir, '--out', join(dir, 'x'), '--shard', '4/4');
  assert.equal(badShard.status, 2);
  assert.match(badShard.stderr, /--shard is i\/n with 0 <= i < n/);
  assert.equal(cli('compare', manifest.dir, '--out', join(dir, 'y'), '--shard', '0/2', '--hashes').status, 2);
  const notShard = cli('merge', single, '--out', join(dir, 'z'));
  assert.equal(notShard.status, 2);
  assert.match(notShard.stderr, /not the output of a finished `compare --shard`/);
});
