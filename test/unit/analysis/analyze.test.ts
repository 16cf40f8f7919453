import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, ANALYSIS_FILE, readAnalysis, writeAnalysis } from '../../../src/compute/analysis/analyze';
import { base, cast, finetune, layout, merge, swapComponent } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from './helpers';

describe('analyze / analysis.json', () => {
  const root = tmpRoot('analyze');
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
      { file: 'v.safetensors', recipe: swapComponent(b, cast(base(L, 7), 'F16'), 'vae') },
    ]);
  });
  after(() => root.cleanup());

  test('without hashes: every part present, hashes null, a note says names were used', async () => {
    const steps: string[] = [];
    const a = await analyze({ dir: f.out, result: f.result }, { hashCache: null, onStep: (s) => steps.push(s) });
    assert.deepEqual(steps, ['breakdowns', 'merge-recipe estimates', 'family views', 'lineage', 'health']);
    assert.equal(a.schemaVersion, 1);
    assert.equal(a.resultCreatedAt, f.result.createdAt);
    assert.deepEqual(Object.keys(a.breakdowns), ['block', 'type', 'vae', 'te']);
    assert.equal(a.breakdowns.block!.keys, undefined);
    assert.equal(a.recipes.length, 4);
    const m = a.recipes.find((r) => r.file === 'm.safetensors')!;
    assert.deepEqual(m.parents.map((p) => p.file).sort(), ['a.safetensors', 'b.safetensors']);
    assert.ok(Math.abs(m.overall!.weights[0]! - 0.5) < 1e-3);
    assert.equal(a.hashes, null);
    assert.equal(a.shared, null);
    assert.match(a.notes.join('\n'), /matched by name only/);
    assert.equal(a.health.length, 4);
    // the file is exactly the object (JSON round trip)
    writeAnalysis(f.out, a);
    assert.deepEqual(readAnalysis(f.out), JSON.parse(JSON.stringify(a)));
  });

  test('with hashes computed: cached, shared components found (the swapped VAE is not shared)', async () => {
    const cacheFile = join(root.path, 'cache.json');
    const a = await analyze(f.out, { hashCache: cacheFile, computeHashes: true, timeEmbed: 'IN00' });
    assert.equal(a.timeEmbed, 'IN00');
    assert.ok(!a.breakdowns.block!.groups.includes('BASE'));
    assert.equal(a.hashes!.length, 4);
    assert.ok(a.hashes!.every((h) => h.hashes && h.components));
    const vae = a.shared!.find((s) => s.members.some((x) => x.component === 'vae'))!;
    assert.deepEqual(vae.members.map((x) => x.file).sort(), ['a.safetensors', 'b.safetensors', 'm.safetensors']);
    assert.equal(a.lineage.hashesUsed, true);
    // a second run finds them in the cache without computing
    const again = await analyze(f.out, { hashCache: cacheFile });
    assert.deepEqual(again.hashes!.map((h) => h.hashes!.sha256), a.hashes!.map((h) => h.hashes!.sha256));
  });

  test('readAnalysis: a clear error without the file or with another schema version', () => {
    assert.throws(() => readAnalysis(root.path), /no analysis\.json/);
    const p = join(f.out, ANALYSIS_FILE);
    const obj = JSON.parse(readFileSync(p, 'utf8'));
    writeFileSync(p, JSON.stringify({ ...obj, schemaVersion: 99 }));
    assert.throws(() => readAnalysis(f.out), /schema version 99/);
  });
});
