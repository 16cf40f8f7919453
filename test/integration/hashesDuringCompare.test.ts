/**
 * compare --hashes: file and component hashes computed during the run, checked against SHA-256 computed here from
 * the raw file bytes (node:crypto over readFileSync, sharing nothing with the streaming hasher); cached, so a second
 * run reads nothing more for them; a model whose component is swapped in from another shares that component's hash.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { compareModels, type Progress } from '../../src/compute';
import { HashCache } from '../../src/compute/analysis';
import { base, finetune, layout, materialize, swapComponent } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';
import { validate } from '../helpers/jsonSchema';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('compare --hashes: hashes of every model in result.json and the cache, the same as hashing the raw bytes', async () => {
  const dir = tmpDir('modeldiff-hash-run-');
  const models = join(dir, 'models');
  mkdirSync(models);
  const L = layout('sd15', { scale: 16 });
  const b = base(L, 3);
  const ft = finetune(b, { components: ['unet', 'vae'], sigma: 0.01, seed: 5 });
  materialize(b, join(models, 'base.safetensors'));
  materialize(ft, join(models, 'ft.safetensors'));
  materialize(swapComponent(b, ft, 'vae'), join(models, 'base_ft_vae.safetensors'), { style: 'as-given' });
  const cacheFile = join(dir, 'cache.json');
  const phases = new Set<string>();
  let last: Progress | undefined;
  for (const workers of [0, 2]) {
    const r = await compareModels([models], {
      outDir: join(dir, `out${workers}`),
      workers,
      hashes: { cache: new HashCache(cacheFile) },
      onProgress: (p) => {
        phases.add(p.phase);
        last = p;
      },
    });
    assert.deepEqual(r.errors, []);
    for (const m of r.models) {
      const bytes = readFileSync(m.path);
      const whole = sha(bytes);
      const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
      assert.ok(m.hashes, `${m.file} has hashes`);
      assert.equal(m.hashes.sha256, whole);
      assert.equal(m.hashes.autov2, whole.slice(0, 10).toUpperCase());
      assert.equal(m.hashes.legacy, sha(bytes.subarray(0x100000, 0x110000)).slice(0, 8));
      assert.equal(m.hashes.autov3, sha(bytes.subarray(headerEnd)));
      assert.deepEqual(Object.keys(m.hashes.components ?? {}).sort(), Object.keys(m.components).sort());
    }
    const by = (f: string) => r.models.find((m) => m.file === f)!.hashes!.components!;
    assert.equal(by('base_ft_vae.safetensors').vae, by('ft.safetensors').vae, 'the swapped-in VAE is recognised, in another key order');
    assert.equal(by('base_ft_vae.safetensors').unet, by('base.safetensors').unet);
    assert.notEqual(by('base.safetensors').vae, by('ft.safetensors').vae);
    const schema = JSON.parse(readFileSync(resolve(__dirname, '../../schema/result.schema.json'), 'utf8'));
    assert.deepEqual(validate(schema, JSON.parse(readFileSync(join(dir, `out${workers}`, 'result.json'), 'utf8'))), []);
    assert.equal(last?.phase, 'done');
    assert.equal(last?.bytesDone, last?.bytesTotal, 'progress ends at 100 %');
  }
  const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
  assert.equal(Object.keys(cache.entries).length, 3, 'one cache entry per file');
  assert.ok(phases.has('comparing'));
});

test('compare --hashes stops hashing when the run is cancelled', async () => {
  const dir = tmpDir('modeldiff-hash-cancel-');
  const models = join(dir, 'models');
  mkdirSync(models);
  const L = layout('sd15', { scale: 16 });
  const b = base(L, 3);
  for (let i = 0; i < 3; i++) materialize(finetune(b, { components: ['unet'], sigma: 0.01, seed: 20 + i }), join(models, `m${i}.safetensors`));
  const controller = new AbortController();
  await assert.rejects(
    compareModels([models], {
      outDir: join(dir, 'out'),
      workers: 2,
      signal: controller.signal,
      hashes: { cache: new HashCache(null) },
      onProgress: (p) => p.phase === 'comparing' && controller.abort(),
    }),
    (e: Error & { code?: string }) => e.code === 'CANCELLED',
  );
});
