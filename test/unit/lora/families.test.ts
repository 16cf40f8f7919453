/**
 * SDXL, FLUX.1 and SD3 LoRAs: kohya names and diffusers/PEFT names of the same deltas, including diffusers'
 * split q/k/v projections (row blocks of a fused qkv / linear1 / OpenCLIP in_proj weight) and its swapped
 * (scale, shift) halves, checked against bases made from the layouts and against the float64 oracle.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { openCheckpoint } from '../../../src/compute/index';
import { baseKeySpace, forEachKeyPairs, PairTotals, readLora, type KeyPairs, type LoraModel } from '../../../src/compute/lora/index';
import { factor, get, kohyaLora, writeLora, type ModuleSpec } from '../../fixtures/lora';
import { base, layout, materialize } from '../../fixtures/synth';
import { assertClose } from '../../helpers/expectClose';
import { tmpDir } from '../../helpers/tmp';
import { oracleDistance2, oracleInner, oracleKeyDeltas, type OracleManifest, type OracleTarget } from '../../oracle/lora';

const dir = tmpDir('lora-families-');
/** Notes other than the one saying that PEFT modules carry no alpha (expected for the diffusers-named copies). */
const problems = (m: LoraModel) => m.notes.filter((n) => !/store no alpha/.test(n.message));
const REL = 1e-6;

interface Whole {
  /** kohya module name */
  kohya: string;
  key: string;
  shape: number[];
  /** the diffusers/PEFT modules that make the same delta: each takes rows [from, to) of the kohya up */
  split: { name: string; from: number; to: number; rows: [number, number] }[];
  /** instead: one diffusers module whose up has the kohya up's two halves exchanged ((scale, shift) order) */
  swapped?: string;
}

/** A kohya LoRA on every `whole`, and its copy in diffusers names (up split into row blocks, halves swapped...). */
function pair(prefix: string, wholes: Whole[], dtype: 'F16' | 'BF16', seed: number, stripPrefix: string): { kohya: { path: string; manifest: OracleManifest }; split: { path: string; manifest: OracleManifest } } {
  const target = (w: Whole): OracleTarget => ({ key: w.key.startsWith(stripPrefix) ? w.key.slice(stripPrefix.length) : w.key, shape: w.shape });
  const kohyaModules = wholes.map((w, i) => kohyaLora({ name: w.kohya, target: target(w), out: w.shape[0]!, in: w.shape[1]!, rank: 4, alpha: 4, dtype, seed: seed + i, ...(w.shape.length === 4 ? { kernel: [w.shape[2]!, w.shape[3]!] as [number, number] } : {}) }));
  const splitModules: ModuleSpec[] = [];
  wholes.forEach((w, i) => {
    const up = get(kohyaModules[i]!, '.lora_up.weight');
    const down = get(kohyaModules[i]!, '.lora_down.weight');
    const A = factor('.lora_A.weight', down.shape, down.values, dtype);
    if (w.swapped) {
      const half = (w.shape[0]! / 2) * 4;
      const exchanged = new Float64Array(up.values.length);
      exchanged.set(up.values.slice(half), 0);
      exchanged.set(up.values.slice(0, half), half);
      const rows = w.shape[0]!;
      splitModules.push({
        name: w.swapped,
        factors: [A, factor('.lora_B.weight', up.shape, exchanged, dtype)],
        targets: [
          { ...target(w), srcRows: [0, rows / 2], rows: [rows / 2, rows] },
          { ...target(w), srcRows: [rows / 2, rows], rows: [0, rows / 2] },
        ],
      });
    }
    for (const s of w.split) {
      const rows = s.to - s.from;
      splitModules.push({
        name: s.name,
        factors: [A, factor('.lora_B.weight', [rows, ...up.shape.slice(1)], up.values.slice(s.from * 4, s.to * 4), dtype)],
        targets: [{ ...target(w), rows: s.rows, srcRows: [0, rows] }],
      });
    }
  });
  const kp = join(dir, `${prefix}_kohya.safetensors`);
  const sp = join(dir, `${prefix}_diffusers.safetensors`);
  return { kohya: { path: kp, manifest: writeLora(kp, kohyaModules) }, split: { path: sp, manifest: writeLora(sp, splitModules) } };
}

function checkAgainstOracle(models: LoraModel[], files: { path: string; manifest: OracleManifest }[]): PairTotals {
  const oracle = files.map((f) => oracleKeyDeltas(f.path, f.manifest));
  const totals = new PairTotals(models.length);
  let keys = 0;
  forEachKeyPairs(models, (kp: KeyPairs) => {
    keys++;
    totals.add(kp, 'all');
    const m = kp.members.length;
    for (let x = 0; x < m; x++) {
      // a bare-key base's manifest names its weights without the single-file prefix the engine gives them
      const dx = oracle[kp.members[x]!]!.get(kp.key) ?? oracle[kp.members[x]!]!.get(kp.key.replace(/^model\.diffusion_model\./, ''));
      assert.ok(dx, `the oracle has no delta on ${kp.key} for ${files[kp.members[x]!]!.path}`);
      assertClose(kp.norm2[x], oracleInner(dx, dx), REL, `${kp.key} ||dW||^2`);
      for (let y = x + 1; y < m; y++) {
        const dy = (oracle[kp.members[y]!]!.get(kp.key) ?? oracle[kp.members[y]!]!.get(kp.key.replace(/^model\.diffusion_model\./, '')))!;
        const scale = Math.sqrt(oracleInner(dx, dx) * oracleInner(dy, dy));
        assertClose(kp.dot[x * m + y], oracleInner(dx, dy), REL, `${kp.key} <dW, dW'>`, 1e-12 * scale);
        assertClose(kp.d2[x * m + y], oracleDistance2(dx, dy), REL, `${kp.key} ||dW - dW'||^2`, 1e-24 * scale);
      }
    }
  });
  assert.equal(keys, new Set(oracle.flatMap((o) => [...o.keys()])).size, 'every key of the oracle was compared');
  return totals;
}

describe('SDXL', () => {
  const TE2 = 'conditioner.embedders.1.model.transformer.resblocks.0.';
  const wholes: Whole[] = [
    { kohya: 'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_v', key: 'model.diffusion_model.input_blocks.4.1.transformer_blocks.1.attn1.to_v.weight', shape: [20, 20], split: [{ name: 'unet.down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_v', from: 0, to: 20, rows: [0, 20] }] },
    { kohya: 'lora_unet_output_blocks_0_1_transformer_blocks_9_ff_net_2', key: 'model.diffusion_model.output_blocks.0.1.transformer_blocks.9.ff.net.2.weight', shape: [40, 160], split: [{ name: 'unet.up_blocks.0.attentions.0.transformer_blocks.9.ff.net.2', from: 0, to: 40, rows: [0, 40] }] },
    { kohya: 'lora_unet_input_blocks_7_0_in_layers_2', key: 'model.diffusion_model.input_blocks.7.0.in_layers.2.weight', shape: [40, 20, 3, 3], split: [{ name: 'unet.down_blocks.2.resnets.0.conv1', from: 0, to: 40, rows: [0, 40] }] },
    { kohya: 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj', key: 'conditioner.embedders.0.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', shape: [24, 24], split: [{ name: 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj', from: 0, to: 24, rows: [0, 24] }] },
    { kohya: 'lora_te2_text_model_encoder_layers_0_mlp_fc1', key: `${TE2}mlp.c_fc.weight`, shape: [160, 40], split: [{ name: 'text_encoder_2.text_model.encoder.layers.0.mlp.fc1', from: 0, to: 160, rows: [0, 160] }] },
  ];
  let files: ReturnType<typeof pair>;
  let other: { path: string; manifest: OracleManifest };
  let basePath: string;
  before(() => {
    basePath = join(dir, 'sdxl_base.safetensors');
    materialize(base(layout('sdxl_base', { scale: 32 }), 7), basePath);
    files = pair('sdxl', wholes, 'F16', 10, '');
    // q and v of OpenCLIP's fused in_proj from one file, k from another: row blocks of one weight
    const inProj = { key: `${TE2}attn.in_proj_weight`, shape: [120, 40] };
    const mods = (['q', 'v'] as const).map((p, i) =>
      kohyaLora({ name: `lora_te2_text_model_encoder_layers_0_self_attn_${p}_proj`, target: { ...inProj, rows: p === 'q' ? [0, 40] : [80, 120] }, out: 40, in: 40, rank: 4, alpha: 2, dtype: 'F16', seed: 40 + i }),
    );
    other = { path: join(dir, 'sdxl_other.safetensors'), manifest: {} };
    other.manifest = writeLora(other.path, [
      ...mods,
      kohyaLora({ name: 'text_encoder_2.text_model.encoder.layers.0.self_attn.k_proj', target: { ...inProj, rows: [40, 80] }, out: 40, in: 40, rank: 2, dtype: 'F16', seed: 42 }),
      kohyaLora({ name: wholes[0]!.kohya, target: { key: wholes[0]!.key, shape: [20, 20] }, out: 20, in: 20, rank: 8, alpha: 1, dtype: 'F16', seed: 43 }),
    ]);
  });

  test('kohya (LDM names) and diffusers names make the same delta; OpenCLIP q/k/v land on rows of in_proj_weight', async () => {
    const models = await Promise.all([files.kohya, files.split, other].map(async (f) => readLora(await openCheckpoint(f.path))));
    for (const m of models) assert.equal(m.family, 'sdxl-base', m.file);
    assert.deepEqual(models[0]!.targets.map((t) => t.key), wholes.map((w) => w.key).sort());
    const inProj = models[2]!.targets.find((t) => t.key.endsWith('in_proj_weight'))!;
    assert.deepEqual(inProj.shape, [120, 40]);
    assert.deepEqual(inProj.contributions.map((c) => c.rows).sort((a, b) => a![0] - b![0]), [[0, 40], [40, 80], [80, 120]]);
    const totals = checkAgainstOracle(models, [files.kohya, files.split, other]);
    assert.ok(totals.sameDelta('all', 0, 1));
    assert.ok(!totals.sameDelta('all', 0, 2));

    const space = baseKeySpace(await openCheckpoint(basePath));
    assert.equal(space.family, 'sdxl-base');
    const withBase = await Promise.all([files.kohya, files.split, other].map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    for (const m of withBase) assert.deepEqual(problems(m), [], m.file);
    checkAgainstOracle(withBase, [files.kohya, files.split, other]);
  });
});

describe('FLUX.1', () => {
  const h = 96;
  const wholes: Whole[] = [
    {
      kohya: 'lora_unet_double_blocks_0_img_attn_qkv',
      key: 'model.diffusion_model.double_blocks.0.img_attn.qkv.weight',
      shape: [3 * h, h],
      split: ['to_q', 'to_k', 'to_v'].map((p, i) => ({ name: `transformer.transformer_blocks.0.attn.${p}`, from: i * h, to: (i + 1) * h, rows: [i * h, (i + 1) * h] as [number, number] })),
    },
    {
      kohya: 'lora_unet_double_blocks_1_txt_attn_qkv',
      key: 'model.diffusion_model.double_blocks.1.txt_attn.qkv.weight',
      shape: [3 * h, h],
      split: ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p, i) => ({ name: `transformer.transformer_blocks.1.attn.${p}`, from: i * h, to: (i + 1) * h, rows: [i * h, (i + 1) * h] as [number, number] })),
    },
    {
      kohya: 'lora_unet_single_blocks_0_linear1',
      key: 'model.diffusion_model.single_blocks.0.linear1.weight',
      shape: [7 * h, h],
      split: [
        ...['attn.to_q', 'attn.to_k', 'attn.to_v'].map((p, i) => ({ name: `transformer.single_transformer_blocks.0.${p}`, from: i * h, to: (i + 1) * h, rows: [i * h, (i + 1) * h] as [number, number] })),
        { name: 'transformer.single_transformer_blocks.0.proj_mlp', from: 3 * h, to: 7 * h, rows: [3 * h, 7 * h] },
      ],
    },
    {
      // diffusers' norm_out.linear is (scale, shift); the single file's adaLN_modulation.1 is (shift, scale)
      kohya: 'lora_unet_final_layer_adaLN_modulation_1',
      key: 'model.diffusion_model.final_layer.adaLN_modulation.1.weight',
      shape: [2 * h, h],
      split: [],
      swapped: 'transformer.norm_out.linear',
    },
    { kohya: 'lora_unet_double_blocks_0_img_mlp_0', key: 'model.diffusion_model.double_blocks.0.img_mlp.0.weight', shape: [4 * h, h], split: [{ name: 'transformer.transformer_blocks.0.ff.net.0.proj', from: 0, to: 4 * h, rows: [0, 4 * h] }] },
  ];
  let basePath: string;
  let files: ReturnType<typeof pair>;
  before(() => {
    basePath = join(dir, 'flux1-dev.safetensors');
    materialize(base(layout('flux_dev_transformer', { scale: 32 }), 8), basePath);
    files = pair('flux', wholes, 'BF16', 60, 'model.diffusion_model.');
  });

  test('split diffusers projections and swapped halves make the same delta as the fused kohya modules (bare-key base)', async () => {
    const space = baseKeySpace(await openCheckpoint(basePath));
    assert.equal(space.family, 'flux');
    // the engine names a bare-key FLUX transformer's weights with the single-file prefix (keys/canonical), so the
    // LoRAs land on those names
    const paths = [files.kohya, files.split];
    const models = await Promise.all(paths.map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    for (const m of models) assert.deepEqual(problems(m), [], m.file);
    assert.ok(models[0]!.targets.every((t) => t.key.startsWith('model.diffusion_model.') || t.component !== 'transformer'), 'the base\'s canonical keys');
    const linear1 = models[1]!.targets.find((t) => t.key === 'model.diffusion_model.single_blocks.0.linear1.weight')!;
    assert.deepEqual(linear1.contributions.map((c) => c.rows).sort((a, b) => a![0] - b![0]), [[0, 96], [96, 192], [192, 288], [288, 672]]);
    assert.ok(checkAgainstOracle(models, paths).sameDelta('all', 0, 1));

    const free = await Promise.all(paths.map(async (f) => readLora(await openCheckpoint(f.path))));
    for (const m of free) assert.equal(m.family, 'flux', m.file);
    assert.ok(free[0]!.targets.every((t) => t.key.startsWith('model.diffusion_model.')), 'standard keys without a base');
  });
});

describe('SD3', () => {
  const h = 48;
  const P = 'model.diffusion_model.joint_blocks.';
  const wholes: Whole[] = [
    { kohya: 'lora_unet_joint_blocks_0_x_block_attn_qkv', key: `${P}0.x_block.attn.qkv.weight`, shape: [3 * h, h], split: ['to_q', 'to_k', 'to_v'].map((p, i) => ({ name: `transformer.transformer_blocks.0.attn.${p}`, from: i * h, to: (i + 1) * h, rows: [i * h, (i + 1) * h] as [number, number] })) },
    { kohya: 'lora_unet_joint_blocks_0_context_block_attn_qkv', key: `${P}0.context_block.attn.qkv.weight`, shape: [3 * h, h], split: ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p, i) => ({ name: `transformer.transformer_blocks.0.attn.${p}`, from: i * h, to: (i + 1) * h, rows: [i * h, (i + 1) * h] as [number, number] })) },
    // the last block's context norm is diffusers' AdaLayerNormContinuous: halves swapped
    { kohya: 'lora_unet_joint_blocks_23_context_block_adaLN_modulation_1', key: `${P}23.context_block.adaLN_modulation.1.weight`, shape: [2 * h, h], split: [], swapped: 'transformer.transformer_blocks.23.norm1_context.linear' },
    { kohya: 'lora_unet_joint_blocks_5_x_block_mlp_fc1', key: `${P}5.x_block.mlp.fc1.weight`, shape: [4 * h, h], split: [{ name: 'transformer.transformer_blocks.5.ff.net.0.proj', from: 0, to: 4 * h, rows: [0, 4 * h] }] },
    { kohya: 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj', key: 'text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', shape: [24, 24], split: [{ name: 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj', from: 0, to: 24, rows: [0, 24] }] },
    { kohya: 'lora_te2_text_model_encoder_layers_0_self_attn_k_proj', key: 'text_encoders.clip_g.transformer.text_model.encoder.layers.0.self_attn.k_proj.weight', shape: [40, 40], split: [{ name: 'text_encoder_2.text_model.encoder.layers.0.self_attn.k_proj', from: 0, to: 40, rows: [0, 40] }] },
    { kohya: 'lora_te3_encoder_block_0_layer_0_SelfAttention_q', key: 'text_encoders.t5xxl.transformer.encoder.block.0.layer.0.SelfAttention.q.weight', shape: [128, 128], split: [{ name: 'text_encoder_3.encoder.block.0.layer.0.SelfAttention.q', from: 0, to: 128, rows: [0, 128] }] },
  ];
  let basePath: string;
  let files: ReturnType<typeof pair>;
  before(() => {
    basePath = join(dir, 'sd3_medium.safetensors');
    materialize(base(layout('sd3_medium_aio', { scale: 32 }), 9), basePath);
    files = pair('sd3', wholes, 'F16', 80, '');
  });

  test('MMDiT single-file and diffusers names, split qkv, the swapped last context norm, three text encoders', async () => {
    const paths = [files.kohya, files.split];
    const free = await Promise.all(paths.map(async (f) => readLora(await openCheckpoint(f.path))));
    for (const m of free) assert.equal(m.family, 'sd3', `${m.file}: ${m.familyFrom}`);
    assert.deepEqual(free[0]!.targets.map((t) => t.component).sort(), ['clip_g', 'clip_l', 't5xxl', 'transformer', 'transformer', 'transformer', 'transformer']);
    const totals = checkAgainstOracle(free, paths);
    assert.ok(totals.sameDelta('all', 0, 1), `distance ${totals.distance('all', 0, 1)}`);

    const space = baseKeySpace(await openCheckpoint(basePath));
    assert.equal(space.family, 'sd3');
    const withBase = await Promise.all(paths.map(async (f) => readLora(await openCheckpoint(f.path), { space })));
    for (const m of withBase) assert.deepEqual(problems(m), [], m.file);
    assert.ok(checkAgainstOracle(withBase, paths).sameDelta('all', 0, 1));
  });
});
