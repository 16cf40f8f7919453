/**
 * FLUX.1 and SD3 LoRAs are labelled like their base families (architecture id and label, the diffusion model as the
 * `transformer` component), recognised by their module names (kohya `lora_unet_double_blocks_*` / `single_blocks_*` /
 * `joint_blocks_*`, `lora_te3_*`, diffusers `transformer.`) and metadata (`modelspec.architecture`,
 * `ss_base_model_version`), with and without a base from ../shared/layouts (FLUX.1-dev all-in-one, SD3 Medium):
 * in result.json's model info, the CLI summary, the Models tree and the report.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { compareModels, writeReport, type CompareResult } from '../../src/compute/index';
import { summary } from '../../src/cli/summary';
import { describeNode } from '../../src/extension/views/treeModel';
import { reportHtml } from '../../src/views/report/page';
import { kohyaLora, writeLora, type ModuleSpec } from '../fixtures/lora';
import { base, layout, materialize } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';

const dir = tmpDir('lora-labels-');

/** A kohya-suffixed LoRA module on the layout's weight `key` (its shape read from the scaled layout). */
function moduleOn(layoutName: string, name: string, key: string, seed: number): ModuleSpec {
  const t = layout(layoutName, { scale: 32 }).tensors.find((x) => x.name === key);
  if (!t) throw new Error(`${layoutName} has no ${key}`);
  return kohyaLora({ name, target: { key, shape: [...t.shape] }, out: t.shape[0]!, in: t.shape[1]!, rank: 2, alpha: 2, dtype: 'F16', seed });
}

/** The same modules under PEFT / diffusers suffixes (lora_A, lora_B, no alpha). */
function peft(m: ModuleSpec, name: string): ModuleSpec {
  return {
    name,
    factors: m.factors.filter((f) => f.suffix !== '.alpha').map((f) => ({ ...f, suffix: f.suffix === '.lora_down.weight' ? '.lora_A.weight' : '.lora_B.weight' })),
    targets: [],
  };
}

async function run(files: string[], out: string, baseFile?: string): Promise<CompareResult> {
  const r = await compareModels(files, { outDir: join(dir, out), workers: 0, ...(baseFile ? { base: baseFile } : {}) });
  assert.deepEqual(r.errors, []);
  return r;
}

/** The label shows the same wherever a model is listed: summary, tree, report. */
function assertShownEverywhere(r: CompareResult, out: string, file: string, label: string): void {
  const m = r.models.find((x) => x.file === file)!;
  assert.ok(m.archDetail.startsWith(`${label} LoRA (`), `${file}: ${m.archDetail}`);
  const line = summary(r).split('\n').find((l) => l.includes(file) && l.includes(' LoRA ('));
  assert.ok(line?.includes(`${label} LoRA (`), `summary: ${line}`);
  const node = describeNode(r, { kind: 'model', model: m.index });
  assert.ok(String(node.description).startsWith(`${label} LoRA (`), `tree: ${node.description}`);
  assert.ok(String(node.tooltip).includes(`${label} LoRA (`), `tree tooltip: ${node.tooltip}`);
  const html = join(dir, `${out}-report.html`);
  writeReport({ result: r, dir: join(dir, out) }, html, { render: reportHtml, analysis: null, layersBudgetBytes: 1 << 20 });
  assert.ok(readFileSync(html, 'utf8').includes(`${label} LoRA (`), 'report');
}

describe('FLUX.1 LoRAs', () => {
  const L = 'flux_dev_aio';
  const P = 'model.diffusion_model.';
  const files: Record<string, string> = {};
  let basePath: string;
  before(() => {
    basePath = join(dir, 'flux1-dev-aio.safetensors');
    materialize(base(layout(L, { scale: 32 }), 3), basePath);
    const qkv = moduleOn(L, 'lora_unet_double_blocks_0_img_attn_qkv', `${P}double_blocks.0.img_attn.qkv.weight`, 1);
    const lin = moduleOn(L, 'lora_unet_single_blocks_0_linear1', `${P}single_blocks.0.linear1.weight`, 2);
    const t5 = moduleOn(L, 'lora_te3_encoder_block_0_layer_0_SelfAttention_q', 'text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight', 3);
    const put = (name: string, modules: ModuleSpec[], metadata?: Record<string, string>) => {
      files[name] = join(dir, name);
      writeLora(files[name], modules, metadata);
    };
    put('flux_kohya.safetensors', [qkv, lin, t5]);
    put('flux_diffusers.safetensors', [peft(moduleOn(L, 'x', `${P}double_blocks.0.img_attn.proj.weight`, 4), 'transformer.transformer_blocks.0.attn.to_out.0')]);
    put('flux_schnell.safetensors', [qkv], { 'modelspec.architecture': 'flux-1-schnell/lora', ss_base_model_version: 'flux1' });
    put('flux_meta_dev.safetensors', [lin], { 'modelspec.architecture': 'flux-1-dev/lora' });
  });

  test('without a base: FLUX.1 dev (said to be assumed unless the metadata says it), schnell from modelspec', async () => {
    const r = await run(Object.values(files), 'flux-free');
    const by = new Map(r.models.map((m) => [m.file, m]));
    for (const f of ['flux_kohya.safetensors', 'flux_diffusers.safetensors', 'flux_meta_dev.safetensors']) {
      assert.equal(by.get(f)!.arch, 'flux-dev', f);
      assert.equal(by.get(f)!.lora!.family, 'FLUX.1');
    }
    assert.equal(by.get('flux_schnell.safetensors')!.arch, 'flux-schnell');
    assert.ok(by.get('flux_kohya.safetensors')!.notes.some((n) => /FLUX\.1 dev assumed/.test(n)));
    assert.ok(!by.get('flux_meta_dev.safetensors')!.notes.some((n) => /FLUX\.1 dev assumed/.test(n)), 'the metadata says dev');
    assert.deepEqual(Object.keys(by.get('flux_kohya.safetensors')!.components).sort(), ['t5xxl', 'transformer']);
    assert.deepEqual(Object.keys(by.get('flux_diffusers.safetensors')!.components), ['transformer']);
    assertShownEverywhere(r, 'flux-free', 'flux_kohya.safetensors', 'FLUX.1 dev');
    assertShownEverywhere(r, 'flux-free', 'flux_schnell.safetensors', 'FLUX.1 schnell');
  });

  test('with the FLUX.1-dev base: labelled as the base, the LoRAs\' transformer compared with the checkpoints\' transformer', async () => {
    const r = await run([files['flux_kohya.safetensors']!, files['flux_diffusers.safetensors']!, basePath], 'flux-base', basePath);
    const baseModel = r.models.find((m) => !m.lora)!;
    assert.equal(baseModel.arch, 'flux-dev');
    for (const m of r.models.filter((x) => x.lora)) {
      assert.equal(m.arch, 'flux-dev', m.file);
      assert.ok(!m.notes.some((n) => /FLUX\.1 dev assumed/.test(n)), 'the base says which FLUX.1');
    }
    const kohya = r.models.find((m) => m.file === 'flux_kohya.safetensors')!;
    const pair = r.pairs.find((p) => [p.a, p.b].includes(kohya.index) && [p.a, p.b].includes(baseModel.index))!;
    assert.equal(pair.components['unet'], undefined, 'no "unet" in a FLUX comparison');
    assert.equal(pair.components['transformer']!.status, 'changed');
    assertShownEverywhere(r, 'flux-base', 'flux_kohya.safetensors', 'FLUX.1 dev');
  });
});

describe('SD3 LoRAs', () => {
  const L = 'sd3_medium_aio';
  const P = 'model.diffusion_model.joint_blocks.';
  const files: Record<string, string> = {};
  let basePath: string;
  /** a diffusers LoRA in the base's (1/32) widths */
  let small: string;
  before(() => {
    basePath = join(dir, 'sd3_medium.safetensors');
    materialize(base(layout(L, { scale: 32 }), 4), basePath);
    const x = moduleOn(L, 'lora_unet_joint_blocks_0_x_block_attn_qkv', `${P}0.x_block.attn.qkv.weight`, 5);
    const clip = moduleOn(L, 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 'text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', 6);
    const t5 = moduleOn(L, 'lora_te3_encoder_block_0_layer_0_SelfAttention_q', 'text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight', 7);
    const put = (name: string, modules: ModuleSpec[], metadata?: Record<string, string>) => {
      files[name] = join(dir, name);
      writeLora(files[name], modules, metadata);
    };
    put('sd3_kohya.safetensors', [x, clip, t5]);
    // a diffusers-named transformer LoRA fits FLUX.1 and SD3 names alike: SD3's hidden size (1536) tells them apart
    const q = kohyaLora({ name: 'q', target: { key: 'unused', shape: [1536, 1536] }, out: 1536, in: 1536, rank: 2, alpha: 2, dtype: 'F16', seed: 8 });
    put('sd3_diffusers.safetensors', [peft(q, 'transformer.transformer_blocks.1.attn.to_q')]);
    small = join(dir, 'sd3_diffusers_small.safetensors');
    writeLora(small, [peft(moduleOn(L, 'x', `${P}1.x_block.mlp.fc1.weight`, 8), 'transformer.transformer_blocks.1.ff.net.0.proj')]);
    put('sd3_spec_medium.safetensors', [x], { 'modelspec.architecture': 'stable-diffusion-3-medium/lora' });
    put('sd35_large_spec.safetensors', [x], { 'modelspec.architecture': 'stable-diffusion-3.5-large/lora' });
    // SD 3.5 Large's blocks beyond SD3 Medium's 24, and SD 3.5 Medium's MMDiT-X attn2, named by kohya
    const deep = kohyaLora({ name: 'lora_unet_joint_blocks_30_x_block_attn_proj', target: { key: `${P}30.x_block.attn.proj.weight`, shape: [48, 48] }, out: 48, in: 48, rank: 2, alpha: 2, dtype: 'F16', seed: 9 });
    put('sd35_large_blocks.safetensors', [deep]);
    const attn2 = kohyaLora({ name: 'lora_unet_joint_blocks_2_x_block_attn2_qkv', target: { key: `${P}2.x_block.attn2.qkv.weight`, shape: [144, 48] }, out: 144, in: 48, rank: 2, alpha: 2, dtype: 'F16', seed: 10 });
    put('sd35_medium_attn2.safetensors', [x, attn2]);
  });

  test('without a base: SD3 Medium (assumed unless said), SD 3.5 Large and Medium from metadata or their own blocks', async () => {
    const r = await run(Object.values(files), 'sd3-free');
    const by = new Map(r.models.map((m) => [m.file, m]));
    assert.deepEqual(
      Object.fromEntries([...by].map(([f, m]) => [f, m.arch])),
      {
        'sd3_kohya.safetensors': 'sd3-medium',
        'sd3_diffusers.safetensors': 'sd3-medium',
        'sd3_spec_medium.safetensors': 'sd3-medium',
        'sd35_large_spec.safetensors': 'sd35-large',
        'sd35_large_blocks.safetensors': 'sd35-large',
        'sd35_medium_attn2.safetensors': 'sd35-medium',
      },
    );
    for (const m of by.values()) assert.equal(m.lora!.family, 'SD3', m.file);
    assert.ok(by.get('sd3_kohya.safetensors')!.notes.some((n) => /SD3 Medium assumed/.test(n)));
    assert.ok(!by.get('sd3_spec_medium.safetensors')!.notes.some((n) => /SD3 Medium assumed/.test(n)));
    assert.deepEqual(Object.keys(by.get('sd3_kohya.safetensors')!.components).sort(), ['clip_l', 't5xxl', 'transformer']);
    assertShownEverywhere(r, 'sd3-free', 'sd3_kohya.safetensors', 'SD3 Medium');
    assertShownEverywhere(r, 'sd3-free', 'sd35_large_spec.safetensors', 'SD 3.5 Large');
    assertShownEverywhere(r, 'sd3-free', 'sd35_medium_attn2.safetensors', 'SD 3.5 Medium');
  });

  test('with the SD3 Medium base: labelled as the base; transformer and text encoders as the checkpoint names them', async () => {
    const r = await run([files['sd3_kohya.safetensors']!, small, basePath], 'sd3-base', basePath);
    const baseModel = r.models.find((m) => !m.lora)!;
    assert.equal(baseModel.arch, 'sd3-medium');
    for (const m of r.models.filter((x) => x.lora)) assert.equal(m.arch, 'sd3-medium', m.file);
    assert.ok(r.models.find((m) => m.file === 'sd3_diffusers_small.safetensors')!.lora!.familyFrom.startsWith('base sd3_medium.safetensors'));
    const kohya = r.models.find((m) => m.file === 'sd3_kohya.safetensors')!;
    for (const c of Object.keys(kohya.components)) assert.ok(c in baseModel.components, `${c} is a component of the base too`);
    assertShownEverywhere(r, 'sd3-base', 'sd3_kohya.safetensors', 'SD3 Medium');
  });
});
