/**
 * The analysis commands end to end (through the CLI entry, run by tsx in a child process) on a synthetic folder with
 * known truths: a block-weighted merge declaring its parents by SHA-256, a decoder-only VAE fine-tune, drifted
 * position_ids and a NaN tensor.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareModels } from '../../src/compute';
import { fileHashes, readAnalysis, type ModelHealth, type RecipeEstimate } from '../../src/compute/analysis';
import { base, blockMerge, corruptPositionIds, finetune, layout, withNaN } from '../fixtures/synth';
import { writeModels } from '../unit/analysis/helpers';

const MAIN = resolve(__dirname, '../../src/cli/main.ts');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', cwd: resolve(__dirname, '../..') });

const root = mkdtempSync(join(tmpdir(), 'modeldiff-analysis-cli-'));
const models = join(root, 'models');
const out = join(root, 'out');
const cache = join(root, 'hashes.json');
/** IN blocks 0.25, middle 0.5, OUT blocks 0.75, the rest (BASE, TE, VAE) 0 */
const wOf = (k: string) => (k.includes('.input_blocks.') ? 0.25 : k.includes('.middle_block.') ? 0.5 : k.includes('.output_blocks.') || k.includes('.out.') ? 0.75 : 0);

describe('analysis commands', () => {
  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = base(L, 1);
    const A = finetune(b, { components: ['unet'], sigma: 0.01, seed: 11 });
    const B = finetune(b, { components: ['unet'], sigma: 0.01, seed: 12 });
    writeModels(models, [
      { file: 'a.safetensors', recipe: A },
      { file: 'b.safetensors', recipe: B },
      { file: 'base.safetensors', recipe: b },
      { file: 'decoder.safetensors', recipe: finetune(b, { components: ['vae'], sigma: 0.01, seed: 13, filter: (k) => k.startsWith('first_stage_model.decoder.') }) },
      { file: 'pos_drift.safetensors', recipe: corruptPositionIds(b) },
      { file: 'nan.safetensors', recipe: withNaN(b, 'model.diffusion_model.middle_block.0.in_layers.2.weight') },
    ]);
    const [ha, hb] = [await fileHashes(join(models, 'a.safetensors')), await fileHashes(join(models, 'b.safetensors'))];
    writeModels(models, [
      {
        file: 'mix.safetensors',
        recipe: blockMerge(A, B, wOf),
        metadata: { sd_merge_recipe: JSON.stringify({ type: 'webui', primary_model_hash: ha.sha256, secondary_model_hash: hb.sha256, interp_method: 'Weighted sum', multiplier: 0.5 }) },
      },
    ]);
    await compareModels([models], { outDir: out, workers: 0 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('breakdown --by vae: only the decoder changed; --csv - prints CSV', () => {
    const r = cli('breakdown', out, 'base.safetensors', 'decoder.safetensors', '--by', 'vae');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^encoder +0 +0\.0% +0\/106$/m);
    assert.match(r.stdout, /^decoder +\S+ +100\.0% +138\/138 +█+$/m);
    const csv = cli('breakdown', out, 'base', 'decoder', '--by', 'vae', '--csv');
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trim().split(/\r?\n/);
    assert.equal(lines[0], 'group,l2,share,keys,changed_keys');
    assert.match(lines[1]!, /^encoder,0,0,106,0$/);
    assert.equal(lines.length, 5);
  });

  test('breakdown --matrix --csv file: one row per block, one column per pair', () => {
    const f = join(root, 'blocks.csv');
    const r = cli('breakdown', out, '--matrix', '--by', 'block', '--time-embed', 'IN00', '--csv', f);
    assert.equal(r.status, 0, r.stderr);
    const rows = readFileSync(f, 'utf8').trim().split(/\r?\n/);
    assert.equal(rows[0]!.split(',').length, 1 + (7 * 6) / 2);
    assert.deepEqual(rows.slice(1).map((x) => x.split(',')[0]), ['IN00', 'IN01', 'IN02', 'IN03', 'IN04', 'IN05', 'IN06', 'IN07', 'IN08', 'IN09', 'IN10', 'IN11', 'M00', ...Array.from({ length: 12 }, (_, i) => `OUT${String(i).padStart(2, '0')}`)]);
  });

  test('recipe --parents a,b --json: the block weights of the merge', () => {
    const r = cli('recipe', out, 'mix.safetensors', '--parents', 'a.safetensors,b.safetensors', '--json');
    assert.equal(r.status, 0, r.stderr);
    const est = JSON.parse(r.stdout) as RecipeEstimate;
    for (const blk of est.blocks) {
      const want = blk.group === 'BASE' ? 0 : blk.group.startsWith('IN') ? 0.25 : blk.group === 'M00' ? 0.5 : 0.75;
      assert.ok(Math.abs(blk.weights[1]! - want) < 1e-3, `${blk.group} ${blk.weights}`);
    }
    const text = cli('recipe', out, 'mix.safetensors');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /parents = best-fitting nearest models/);
    assert.match(text.stdout, /^M00 +0\.500 0\.500 +0\.500 0\.500 +exact/m);
  });

  test('hashes --components: SHA-256 of the files, cache written, shared VAE listed', () => {
    const r = cli('hashes', models, '--components', '--cache', cache, '--json');
    assert.equal(r.status, 0, r.stderr);
    const { models: list, shared } = JSON.parse(r.stdout) as { models: { file: string; hashes: { sha256: string; autov2: string } }[]; shared: { members: { file: string; component: string }[] }[] };
    assert.equal(list.length, 7);
    const mix = list.find((m) => m.file === 'mix.safetensors')!;
    assert.equal(mix.hashes.sha256, createHash('sha256').update(readFileSync(join(models, 'mix.safetensors'))).digest('hex'));
    assert.equal(mix.hashes.autov2, mix.hashes.sha256.slice(0, 10).toUpperCase());
    assert.ok(existsSync(cache));
    const vae = shared.find((s) => s.members.some((m) => m.component === 'vae'))!;
    assert.deepEqual(vae.members.map((m) => m.file).sort(), ['a.safetensors', 'b.safetensors', 'base.safetensors', 'mix.safetensors', 'nan.safetensors', 'pos_drift.safetensors']);
    const text = cli('hashes', join(models, 'a.safetensors'), '--cache', cache);
    assert.match(text.stdout, new RegExp(`^a\\.safetensors +${list.find((m) => m.file === 'a.safetensors')!.hashes.autov2} `, 'm'));
  });

  test('health: drifted position_ids and a NaN tensor are errors', () => {
    const r = cli('health', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const h = new Map((JSON.parse(r.stdout) as ModelHealth[]).map((x) => [x.file, x]));
    assert.equal(h.get('pos_drift.safetensors')!.positionIds[0]!.status, 'corrupt');
    assert.equal(h.get('nan.safetensors')!.nonFinite.count, 1);
    assert.equal(h.get('base.safetensors')!.status, 'ok');
    const text = cli('health', out);
    assert.match(text.stdout, /^✗ pos_drift\.safetensors/m);
    assert.match(text.stdout, /7 models, 2 with problems/);
  });

  test('family: dendrogram and tree in text; --component all', () => {
    const r = cli('family', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^== unet: average-linkage dendrogram/m);
    assert.match(r.stdout, /minimum spanning tree/);
    const all = cli('family', out, '--component', 'all', '--json');
    assert.ok((JSON.parse(all.stdout) as unknown[]).length >= 3);
    assert.equal(cli('family', out, '--component', 'nope').status, 2);
  });

  test('lineage with the hash cache: the declared parents found by SHA-256 and confirmed by distance', () => {
    const r = cli('lineage', out, '--cache', cache);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /declared merge \(webui\): Weighted sum, alpha 0\.5 -> weights 0\.500 0\.500/);
    assert.match(r.stdout, /A \S+ = a\.safetensors \(by sha256\)/);
    assert.match(r.stdout, /declared parents among the nearest: a\.safetensors, b\.safetensors/);
  });

  test('analyze writes analysis.json with every part', () => {
    const r = cli('analyze', out, '--cache', cache, '--quiet');
    assert.equal(r.status, 0, r.stderr);
    const a = readAnalysis(out);
    assert.deepEqual(Object.keys(a.breakdowns), ['block', 'type', 'vae', 'te']);
    assert.equal(a.timeEmbed, 'BASE');
    const mixIndex = a.health.find((h) => h.file === 'mix.safetensors')!.model;
    const rec = a.recipes.find((x) => x.model === mixIndex)!;
    assert.deepEqual(rec.parents.map((p) => p.file).sort(), ['a.safetensors', 'b.safetensors']);
    assert.equal(a.lineage.hashesUsed, true);
    assert.ok(a.lineage.declaredEdges.length === 2);
    assert.ok(a.family.some((f) => f.component === 'unet'));
    assert.ok(a.shared && a.shared.length > 0);
    assert.equal(a.health.filter((h) => h.status === 'error').length, 2);
  });

  test('usage errors exit 2', () => {
    assert.equal(cli('breakdown', out).status, 2);
    assert.equal(cli('breakdown', out, 'a', 'b', '--by', 'nope').status, 2);
    assert.equal(cli('recipe', out, 'mix', '--time-embed', 'OUT').status, 2);
    assert.equal(cli('recipe', out, 'mix', '--parents', 'mix').status, 2);
    assert.equal(cli('hashes').status, 2);
  });
});
