import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareModels, type CompareResult } from '../../../src/compute';
import { fileHashes } from '../../../src/compute/analysis/hashes';
import { declaredLineage, lineageReport, normalizeModelName, parseRecipe, splitNameAndHash } from '../../../src/compute/analysis/lineage';
import type { FileHashes } from '../../../src/shared/analysis';
import { base, finetune, layout, merge } from '../../fixtures/synth';
import { tmpRoot, writeModels } from './helpers';
import { estimateRecipe } from '../../../src/compute/analysis/recipe';
import { writeLargeResult } from '../../fixtures/largeResult';
import { tmpDir } from '../../helpers/tmp';

describe('metadata parsing (pure)', () => {
  const SHA_A = 'a'.repeat(64);
  const SHA_B = 'b'.repeat(64);
  const SHA_C = 'c'.repeat(64);

  test('A1111 recipe: parents named through sd_merge_models, weights implied by the method', () => {
    const meta = {
      sd_merge_recipe: JSON.stringify({ type: 'webui', primary_model_hash: SHA_A, secondary_model_hash: SHA_B, tertiary_model_hash: null, interp_method: 'Weighted sum', multiplier: 0.3 }),
      sd_merge_models: JSON.stringify({
        [SHA_A]: { name: 'sub/a.safetensors', legacy_hash: '1234abcd', sd_merge_recipe: null },
        [SHA_B]: { name: 'b.ckpt', legacy_hash: '9999ffff', sd_merge_recipe: JSON.stringify({ type: 'webui', primary_model_hash: SHA_C, interp_method: 'No interpolation', multiplier: 0 }) },
        [SHA_C]: { name: 'c.safetensors', legacy_hash: 'cccc0000' },
      }),
    };
    const d = declaredLineage(meta);
    assert.equal(d.recipe!.tool, 'webui');
    assert.equal(d.recipe!.method, 'Weighted sum');
    assert.equal(d.recipe!.alpha, 0.3);
    assert.deepEqual(d.recipe!.impliedWeights, [0.7, 0.3]);
    assert.deepEqual(d.recipe!.parents.map((p) => [p.role, p.name, p.sha256, p.legacyHash]), [
      ['A', 'sub/a.safetensors', SHA_A, '1234abcd'],
      ['B', 'b.ckpt', SHA_B, '9999ffff'],
    ]);
    // the parent's own recipe, nested as JSON in JSON
    assert.equal(d.recipe!.parents[1]!.recipe!.parents[0]!.name, 'c.safetensors');
    assert.deepEqual(d.recipe!.parents[1]!.recipe!.impliedWeights, [1]);
    // ancestors: in sd_merge_models but not direct parents
    assert.deepEqual(d.ancestors.map((p) => p.name), ['c.safetensors']);
    assert.deepEqual(d.keys, ['sd_merge_models', 'sd_merge_recipe']);
  });

  test('SuperMerger recipe: model_a/b/c, mode, base_alpha, block weights; add difference implies [1, a, -a]', () => {
    const r = parseRecipe(
      { model_a: SHA_A, model_b: SHA_B, model_c: SHA_C, base_alpha: 0.5, base_beta: 0.2, mode: 'Add difference', mbw: true, weights_alpha: '0.1,0.2,0.3', calcmode: 'normal' },
      null,
    )!;
    assert.equal(r.tool, 'supermerger');
    assert.deepEqual(r.parents.map((p) => p.role), ['A', 'B', 'C']);
    assert.deepEqual(r.impliedWeights, [1, 0.5, -0.5]);
    assert.deepEqual(r.blockWeights, [0.1, 0.2, 0.3]);
    const triple = parseRecipe({ model_a: SHA_A, model_b: SHA_B, model_c: SHA_C, base_alpha: 0.2, base_beta: 0.3, mode: 'Triple sum' }, null)!;
    assert.deepEqual(triple.impliedWeights!.map((x) => +x.toFixed(12)), [0.5, 0.2, 0.3]);
  });

  test('modelspec and kohya keys; names with [hash] suffixes; junk values noted, not thrown', () => {
    const d = declaredLineage({
      'modelspec.title': 'My Mix',
      'modelspec.architecture': 'stable-diffusion-v1',
      'modelspec.merged_from': 'foo.safetensors [0123456789], bar',
      'modelspec.hash_sha256': '0x' + 'd'.repeat(64),
      ss_sd_model_name: 'runwayml/v1-5-pruned.safetensors',
      ss_sd_model_hash: 'e1441589',
      ss_new_sd_model_hash: SHA_A,
      sshs_model_hash: 'e'.repeat(64),
      sd_merge_recipe: '{not json',
    });
    assert.equal(d.title, 'My Mix');
    assert.equal(d.architecture, 'stable-diffusion-v1');
    assert.deepEqual(d.mergedFrom.map((p) => [p.name, p.shortHash]), [
      ['foo.safetensors', '0123456789'],
      ['bar', null],
    ]);
    assert.deepEqual([d.trainedFrom!.name, d.trainedFrom!.sha256, d.trainedFrom!.legacyHash], ['runwayml/v1-5-pruned.safetensors', SHA_A, 'e1441589']);
    assert.deepEqual(d.selfHashes.map((s) => s.key), ['modelspec.hash_sha256', 'sshs_model_hash']);
    assert.equal(d.recipe, null);
    assert.deepEqual(d.notes, ['sd_merge_recipe is not a JSON object']);
    assert.deepEqual(splitNameAndHash('x/y.ckpt [ABCDEF1234]'), { name: 'x/y.ckpt', hash: 'abcdef1234' });
    assert.equal(normalizeModelName('C:\\models\\Foo.SafeTensors'), 'foo');
  });
});

describe('lineage of a synthetic folder', () => {
  const root = tmpRoot('lineage');
  const dir = join(root.path, 'models');
  let result: CompareResult;
  let hashes: (FileHashes | null)[];
  const idx = (f: string) => result.models.findIndex((m) => m.file === f);
  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = base(L, 1);
    const A = finetune(b, { components: ['unet', 'te'], sigma: 0.01, seed: 11 });
    const B = finetune(b, { components: ['unet', 'te'], sigma: 0.01, seed: 12 });
    const T = finetune(A, { components: ['unet'], sigma: 0.001, seed: 14 });
    writeModels(dir, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'unrelated.safetensors', recipe: base(L, 9) },
    ]);
    const ha = await fileHashes(join(dir, 'a.safetensors'));
    const hb = await fileHashes(join(dir, 'b.safetensors'));
    const mixRecipe = merge([A, B], [0.7, 0.3]);
    // the trained model declares its own AutoV3: compute it from a first write (data does not depend on metadata)
    writeModels(dir, [{ file: 'trained.safetensors', recipe: T }]);
    const ownV3 = (await fileHashes(join(dir, 'trained.safetensors'))).autov3!;
    writeModels(dir, [
      {
        file: 'mix.safetensors',
        recipe: mixRecipe,
        metadata: {
          sd_merge_recipe: JSON.stringify({ type: 'webui', primary_model_hash: ha.sha256, secondary_model_hash: hb.sha256, interp_method: 'Weighted sum', multiplier: 0.3 }),
          // names that do not match the files: only the hashes can find them
          sd_merge_models: JSON.stringify({ [ha.sha256]: { name: 'renamed_a.safetensors', legacy_hash: ha.legacy }, [hb.sha256]: { name: 'renamed_b.safetensors', legacy_hash: hb.legacy } }),
        },
      },
      { file: 'by_name.safetensors', recipe: mixRecipe, metadata: { 'modelspec.merged_from': 'a.safetensors, b [0123456789]' } },
      { file: 'by_legacy.safetensors', recipe: mixRecipe, metadata: { sd_merge_recipe: JSON.stringify({ model_a: `whatever [${ha.autov2}]`, model_b: hb.legacy, mode: 'Weight sum', base_alpha: 0.3 }) } },
      { file: 'trained.safetensors', recipe: T, metadata: { ss_sd_model_name: 'a.safetensors', ss_new_sd_model_hash: ha.sha256, sshs_model_hash: ownV3, sshs_legacy_hash: '00000000' } },
    ]);
    result = await compareModels([dir], { outDir: join(root.path, 'out'), workers: 0 });
    hashes = await Promise.all(result.models.map((m) => fileHashes(m.path)));
  });
  after(() => root.cleanup());

  test('A1111 recipe matched by SHA-256; declared weights vs the measured estimate; confirmed by nearest', () => {
    const rep = lineageReport(result, { hashes });
    assert.equal(rep.hashesUsed, true);
    const m = rep.models[idx('mix.safetensors')]!;
    assert.deepEqual(m.parents.map((p) => [p.match?.file, p.match?.by]), [
      ['a.safetensors', 'sha256'],
      ['b.safetensors', 'sha256'],
    ]);
    assert.deepEqual(m.declared.recipe!.impliedWeights, [0.7, 0.3]);
    assert.deepEqual(m.estimateParents, [idx('a.safetensors'), idx('b.safetensors')]);
    assert.ok(Math.abs(m.estimate!.weights[0]! - 0.7) < 1e-3 && Math.abs(m.estimate!.weights[1]! - 0.3) < 1e-3, String(m.estimate!.weights));
    assert.deepEqual(m.confirmed.sort(), [idx('a.safetensors'), idx('b.safetensors')].sort());
    assert.deepEqual(m.unconfirmed, []);
    assert.deepEqual(m.sameUnet.sort(), [idx('by_legacy.safetensors'), idx('by_name.safetensors')].sort()); // copies, not parents
    assert.ok(rep.declaredEdges.some((e) => e.parent === idx('a.safetensors') && e.child === idx('mix.safetensors') && e.role === 'A'));
  });

  test('without hashes the renamed parents are not found; modelspec names still are', () => {
    const rep = lineageReport(result);
    assert.equal(rep.hashesUsed, false);
    assert.deepEqual(rep.models[idx('mix.safetensors')]!.parents.map((p) => p.match), [null, null]);
    const byName = rep.models[idx('by_name.safetensors')]!;
    assert.deepEqual(byName.parents.map((p) => p.match && [p.match.file, p.match.by]), [
      ['a.safetensors', 'name'],
      ['b.safetensors', 'name'],
    ]);
  });

  test('AutoV2 in a "[hash]" suffix and a legacy hash; a training base; self-declared hashes checked', () => {
    const rep = lineageReport(result, { hashes });
    const leg = rep.models[idx('by_legacy.safetensors')]!;
    assert.deepEqual(leg.parents.map((p) => [p.match?.file, p.match?.by]), [
      ['a.safetensors', 'autov2'],
      ['b.safetensors', 'legacy'],
    ]);
    assert.deepEqual(leg.declared.recipe!.impliedWeights, [0.7, 0.3]);
    const t = rep.models[idx('trained.safetensors')]!;
    assert.equal(t.parents[0]!.role, 'training base');
    assert.deepEqual([t.parents[0]!.match!.file, t.parents[0]!.match!.by], ['a.safetensors', 'sha256']);
    assert.equal(t.nearest[0]!.file, 'a.safetensors');
    assert.deepEqual(t.confirmed, [idx('a.safetensors')]);
    assert.deepEqual(t.declared.selfHashes.map((s) => [s.key, s.matches]), [
      ['sshs_model_hash', true],
      ['sshs_legacy_hash', false],
    ]);
    assert.equal(t.estimate, null); // one parent
    const u = rep.models[idx('unrelated.safetensors')]!;
    assert.deepEqual(u.parents, []);
    assert.equal(u.nearest.length, 3);
  });
});

describe('identical means bit-identical (issue 9)', () => {
  // result.json says: the fp32 copy holds equal values, the NaN model changed (1 key, l2 0 over the rest), the
  // shape-mismatch model equal values; only the exact copy is identical
  const dir = tmpDir();
  const manifest = writeLargeResult(dir, { models: 12, families: 3, keyStride: 24 });
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as CompareResult;
  const rep = lineageReport(result);
  const sp = manifest.special;
  const src = (i: number) => manifest.models[i]!.source!;
  const lin = (i: number) => rep.models[i]!;

  test('the exact copy is a bit-identical UNet', () => {
    const c = sp.copy![0]!;
    assert.ok(lin(c).sameUnet.includes(src(c)));
    assert.ok(lin(src(c)).sameUnet.includes(c));
  });

  test('the fp32 copy and the shape-mismatch model have equal UNet values, not the same UNet', () => {
    for (const i of [sp.fp32![0]!, sp.shape![0]!]) {
      assert.ok(!lin(i).sameUnet.includes(src(i)), `${manifest.models[i]!.file}: sameUnet ${lin(i).sameUnet}`);
      assert.ok(lin(i).equalUnet.includes(src(i)), `${manifest.models[i]!.file}: equalUnet ${lin(i).equalUnet}`);
      assert.ok(!lin(src(i)).sameUnet.includes(i));
    }
  });

  test('the NaN model is neither: its source is its nearest UNet, at L2 0 over the finite keys', () => {
    const i = sp.nan![0]!;
    assert.ok(!lin(i).sameUnet.includes(src(i)));
    assert.ok(!lin(i).equalUnet.includes(src(i)));
    assert.deepEqual(lin(i).nearest[0], { model: src(i), file: manifest.models[src(i)]!.file, l2: 0 });
  });

  test('recipe notes name a copy for what it is', () => {
    const fp32 = sp.fp32![0]!;
    const notes = estimateRecipe({ dir, result }, fp32).notes.join('\n');
    assert.match(notes, new RegExp(`holds the same values as that of ${manifest.models[src(fp32)]!.file}, not bit-identical`));
    assert.doesNotMatch(notes, /bit-identical to/);
    const nan = sp.nan![0]!;
    const nanNotes = estimateRecipe({ dir, result }, nan).notes.join('\n');
    assert.match(nanNotes, new RegExp(`at L2 0 from that of ${manifest.models[src(nan)]!.file} on the comparable keys \\(1 key with NaN/Inf left out\\), yet not equal`));
    const copy = sp.copy![0]!;
    assert.match(estimateRecipe({ dir, result }, copy).notes.join('\n'), new RegExp(`bit-identical to that of ${manifest.models[src(copy)]!.file}`));
  });
});
