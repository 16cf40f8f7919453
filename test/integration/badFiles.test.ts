import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../src/compute';
import { makeFolder, zooSpec } from '../fixtures/synth';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { tmpDir } from '../helpers/tmp';

test('bad files are listed with their reason and the good ones are still compared', async () => {
  const dir = tmpDir();
  const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15'), { only: ['base.safetensors', 'ft_unet.safetensors', 'swapped_vae.safetensors'] });
  const m = manifest.dir;
  copyFileSync(join(m, 'base.safetensors'), join(m, 'truncated.safetensors'));
  truncateSync(join(m, 'truncated.safetensors'), 100_000);
  writeFileSync(join(m, 'notes.safetensors'), 'these are my notes, not a model\n');
  writeFileSync(join(m, 'empty.ckpt'), '');
  const header = Buffer.from('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(m, 'duplicate.safetensors'), Buffer.concat([len, header, Buffer.alloc(8)]));
  mkdirSync(join(m, 'folder.safetensors'));
  writeFileSync(join(m, 'readme.txt'), 'ignored: not a model extension');

  const r = await compareModels([m], { outDir: join(dir, 'out'), workers: 0 });
  assert.deepEqual(r.models.map((x) => x.file), ['base.safetensors', 'ft_unet.safetensors', 'swapped_vae.safetensors']);
  const errors = new Map(r.errors.map((e) => [e.file, e]));
  assert.deepEqual([...errors.keys()].sort(), ['duplicate.safetensors', 'empty.ckpt', 'folder.safetensors', 'notes.safetensors', 'truncated.safetensors']);
  assert.match(errors.get('truncated.safetensors')!.message, /truncated|missing|ends/i);
  assert.match(errors.get('empty.ckpt')!.message, /empty/);
  assert.match(errors.get('duplicate.safetensors')!.message, /"a"/);
  assert.match(errors.get('folder.safetensors')!.message, /folder|directory/);
  for (const e of r.errors) {
    assert.ok(e.path.endsWith(e.file));
    assert.ok(e.message.length > 10 && !/undefined|\[object/.test(e.message), e.message);
  }
  checkAgainstOracle(r, join(dir, 'out'));
  const saved = JSON.parse(readFileSync(join(dir, 'out', 'result.json'), 'utf8'));
  assert.equal(saved.errors.length, 5);
});

test('a file that changes under the engine is dropped with its reason and the rest compared again', async () => {
  const dir = tmpDir();
  const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15'), { only: ['base.safetensors', 'ft_unet.safetensors', 'ft_te_partial.safetensors'] });
  const victim = join(manifest.dir, 'ft_te_partial.safetensors');
  let truncated = false;
  const r = await compareModels([manifest.dir], {
    outDir: join(dir, 'out'),
    workers: 0,
    onProgress: (p) => {
      // Headers are read; now the data disappears.
      if (p.phase === 'comparing' && !truncated) {
        truncateSync(victim, 4096);
        truncated = true;
      }
    },
  });
  assert.ok(truncated);
  assert.deepEqual(r.models.map((x) => x.file), ['base.safetensors', 'ft_unet.safetensors']);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.file, 'ft_te_partial.safetensors');
  assert.equal(r.errors[0]!.code, 'FILE_CHANGED');
  assert.equal(r.pairs.length, 1);
  checkAgainstOracle(r, join(dir, 'out'));
});

test('cancelling stops the run promptly with a CANCELLED error, in-thread and in the worker pool', async () => {
  const dir = tmpDir();
  const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15', 16), { only: ['base.safetensors', 'ft_unet.safetensors', 'other.safetensors', 'full_ema.safetensors'] });
  for (const workers of [0, 2]) {
    const controller = new AbortController();
    const started = Date.now();
    const p = compareModels([manifest.dir], {
      outDir: join(dir, `out${workers}`),
      workers,
      memoryBudgetMiB: 1,
      signal: controller.signal,
      onProgress: (x) => {
        if (x.phase === 'comparing' && x.bytesDone > 0) controller.abort();
      },
    });
    await assert.rejects(p, (e: { code?: string }) => e.code === 'CANCELLED');
    assert.ok(Date.now() - started < 10_000);
  }
});
