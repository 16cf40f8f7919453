import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { compareModels, ModeldiffError, openCheckpoint } from '../../../src/compute/index';
import { baseKeySpace, forEachKeyPairs, PairTotals, readLora, type KeyPairs, type KeySpace } from '../../../src/compute/lora/index';
import { factor, kohyaLora, randomFactor, scalar, writeLora, type ModuleSpec } from '../../fixtures/lora';
import { base, layout, materialize } from '../../fixtures/synth';
import { tmpDir } from '../../helpers/tmp';

const dir = tmpDir('lora-bad-');
const Q = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
const QKEY = 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight';
let basePath: string;
let space: KeySpace;

const good = (name = Q, seed = 1) => kohyaLora({ name, target: { key: QKEY, shape: [10, 10] }, out: 10, in: 10, rank: 4, alpha: 2, dtype: 'F16', seed });
const file = (name: string, modules: ModuleSpec[]) => {
  const p = join(dir, name);
  writeLora(p, modules);
  return p;
};
async function rejects(path: string, code: string, message: RegExp): Promise<void> {
  const ckpt = await openCheckpoint(path);
  assert.throws(
    () => readLora(ckpt),
    (e: unknown) => e instanceof ModeldiffError && e.code === code && message.test(e.message) && e.file === path,
    `${path} should be refused with ${code} ${message}`,
  );
}

before(async () => {
  basePath = join(dir, 'base.safetensors');
  materialize(base(layout('sd15', { scale: 32 }), 1), basePath);
  space = baseKeySpace(await openCheckpoint(basePath));
});

describe('bad LoRA files are refused with a typed error naming the file and the module', () => {
  test('rank mismatch between up and down', async () => {
    const m = good();
    m.factors[0] = factor('.lora_down.weight', [3, 10], randomFactor(2, 'd', [3, 10], 'F16'), 'F16');
    await rejects(file('rank.safetensors', [m]), 'LORA_INVALID', new RegExp(`^${Q}: rank mismatch: up has 4 columns but down has 3 rows`));
  });

  test('alpha of the wrong shape', async () => {
    const m = good();
    m.factors = m.factors.map((f) => (f.suffix === '.alpha' ? factor('.alpha', [2], new Float64Array([2, 2]), 'F16') : f));
    await rejects(file('alpha.safetensors', [m]), 'LORA_INVALID', /alpha must be a single number, but .*\.alpha has shape \[2\]/);
  });

  test('factors of two network types in one module, a LoHa rank mismatch, an up convolution with a kernel, a DoRA scale of the wrong size', async () => {
    const mixed = good();
    mixed.factors.push(factor('.hada_w1_a', [10, 2], randomFactor(3, 'h', [10, 2], 'F16'), 'F16'));
    await rejects(file('mixed.safetensors', [mixed]), 'LORA_INVALID', /mixes the factors of loha and lora modules/);
    const loha: ModuleSpec = {
      name: Q,
      factors: [
        factor('.hada_w1_a', [10, 2], randomFactor(4, 'a', [10, 2], 'F16'), 'F16'),
        factor('.hada_w1_b', [3, 10], randomFactor(4, 'b', [3, 10], 'F16'), 'F16'),
        factor('.hada_w2_a', [10, 2], randomFactor(4, 'c', [10, 2], 'F16'), 'F16'),
        factor('.hada_w2_b', [2, 10], randomFactor(4, 'd', [2, 10], 'F16'), 'F16'),
      ],
      targets: [],
    };
    await rejects(file('loha.safetensors', [loha]), 'LORA_INVALID', /rank mismatch: hada_w1_a has 2 columns but hada_w1_b has 3 rows/);
    const conv = kohyaLora({ name: 'lora_unet_down_blocks_0_resnets_0_conv1', target: [], out: 10, in: 10, rank: 2, kernel: [3, 3], dtype: 'F16', seed: 5 });
    conv.factors = conv.factors.map((f) => (f.suffix === '.lora_up.weight' ? factor(f.suffix, [10, 2, 3, 3], randomFactor(5, 'u', [10, 2, 3, 3], 'F16'), 'F16') : f));
    await rejects(file('upconv.safetensors', [conv]), 'LORA_INVALID', /up has a 3x3 kernel/);
    const dora = good();
    dora.factors.push(factor('.dora_scale', [7, 1], randomFactor(6, 'm', [7, 1], 'F16'), 'F16'));
    await rejects(file('dora.safetensors', [dora]), 'LORA_INVALID', /dora_scale has shape \[7, 1\]/);
  });

  test('a file that is not a LoRA, or only of unsupported network types', async () => {
    await rejects(basePath, 'LORA_UNSUPPORTED', /none of its \d+ tensors is named like a LoRA/);
    const oft: ModuleSpec = { name: Q, factors: [factor('.oft_blocks', [2, 5, 5], randomFactor(7, 'o', [2, 5, 5], 'F16'), 'F16'), scalar('.alpha', 1)], targets: [] };
    await rejects(file('oft.safetensors', [oft]), 'LORA_UNSUPPORTED', /only network types this version does not read/);
  });

  test('a LoRA for another family than the base maps nowhere', async () => {
    const sdxl = kohyaLora({ name: 'lora_te2_text_model_encoder_layers_0_mlp_fc1', target: [], out: 160, in: 40, rank: 2, dtype: 'F16', seed: 8 });
    const ckpt = await openCheckpoint(file('sdxl_only_te2.safetensors', [sdxl]));
    assert.throws(
      () => readLora(ckpt, { space }),
      (e: unknown) => e instanceof ModeldiffError && e.code === 'LORA_INVALID' && /no module of this LoRA maps onto base base\.safetensors \(SD 1\.x\)/.test(e.message),
    );
  });
});

describe('modules that cannot be used are left out with a note naming them; the rest of the file is used', () => {
  test('unknown module names, an unsupported module, a layer the base lacks, a layer of another shape', async () => {
    const deep = kohyaLora({ name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_5_attn1_to_q', target: [], out: 10, in: 10, rank: 2, dtype: 'F16', seed: 9 });
    const wide = kohyaLora({ name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k', target: [], out: 10, in: 12, rank: 2, dtype: 'F16', seed: 10 });
    const unknown = kohyaLora({ name: 'lora_unet_foo_bar', target: [], out: 10, in: 10, rank: 2, dtype: 'F16', seed: 11 });
    const stray = kohyaLora({ name: 'something_else', target: [], out: 10, in: 10, rank: 2, dtype: 'F16', seed: 12 });
    const oft: ModuleSpec = { name: 'lora_unet_down_blocks_0_attentions_0_proj_in', factors: [factor('.oft_blocks', [2, 5, 5], randomFactor(13, 'o', [2, 5, 5], 'F16'), 'F16')], targets: [] };
    const path = file('partly.safetensors', [good(), deep, wide, unknown, stray, oft]);
    const withBase = readLora(await openCheckpoint(path), { space });
    assert.deepEqual(withBase.targets.map((t) => t.key), [QKEY]);
    const notes = withBase.notes.map((n) => `${n.key ?? '-'} | ${n.message}`);
    assert.ok(withBase.notes.every((n) => n.file === path));
    const expect = [
      /^- \| 1 OFT module\(s\) are not supported and are left out \(first: lora_unet_down_blocks_0_attentions_0_proj_in\)$/,
      /^lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k \| makes a \[10, 12\] change, but model\.diffusion_model\.input_blocks\.1\.1\.transformer_blocks\.0\.attn1\.to_k\.weight in the base is \[10, 10\]; left out$/,
      /^lora_unet_down_blocks_0_attentions_0_transformer_blocks_5_attn1_to_q \| the base has no model\.diffusion_model\.input_blocks\.1\.1\.transformer_blocks\.5\.attn1\.to_q\.weight; left out$/,
      /^lora_unet_foo_bar \| no SD 1\.x diffusion-model layer is called "foo\.bar"; left out$/,
      /^something_else \| not a module name this version knows/,
      /^- \| 4 module\(s\) store no alpha: scale 1 \(alpha = rank\) is assumed/,
    ];
    assert.equal(notes.length, expect.length, notes.join('\n'));
    for (const re of expect) assert.ok(notes.some((n) => re.test(n)), `no note like ${re} in\n${notes.join('\n')}`);

    // without a base the deep block is a valid SD 1.x name, and the wider to_k a layer of its own shape
    const free = readLora(await openCheckpoint(path));
    assert.equal(free.targets.length, 3);
  });

  test('two LoRAs that change a key as weights of different shapes are not comparable (null), never 0', async () => {
    const K2 = 'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k';
    const sd1 = file('ctx768.safetensors', [good(Q, 30), kohyaLora({ name: K2, target: [], out: 20, in: 24, rank: 2, dtype: 'F16', seed: 31 })]);
    const sd2 = file('ctx1024.safetensors', [good(Q, 32), kohyaLora({ name: K2, target: [], out: 20, in: 32, rank: 2, dtype: 'F16', seed: 33 })]);
    const models = await Promise.all([sd1, sd2].map(async (p) => readLora(await openCheckpoint(p), { family: 'sd1' })));
    const totals = new PairTotals(2);
    const seen: KeyPairs[] = [];
    forEachKeyPairs(models, (kp) => {
      seen.push(kp);
      totals.add(kp, kp.key.includes('attn2') ? 'attn2' : 'attn1');
      totals.add(kp, 'all');
    });
    const k2 = seen.filter((k) => k.key.includes('attn2'));
    assert.deepEqual(k2.map((k) => [k.members, k.incomparable]), [[[0], [1]], [[1], [0]]]);
    assert.equal(totals.distance('attn2', 0, 1), null);
    assert.equal(totals.distance('all', 0, 1), null);
    assert.equal(totals.sameDelta('all', 0, 1), false);
    assert.ok(totals.distance('attn1', 0, 1)! > 0);
  });

  test('a LoRA whose factors hold NaN is reported while the others are compared', async () => {
    const bad = good(Q, 20);
    bad.factors = bad.factors.map((f) => (f.suffix === '.lora_up.weight' ? factor(f.suffix, f.shape, f.values.map((x, i) => (i === 3 ? NaN : x)), f.dtype) : f));
    const paths = [file('ok1.safetensors', [good(Q, 21)]), file('nan.safetensors', [bad]), file('ok2.safetensors', [good(Q, 22)])];
    const models = await Promise.all(paths.map(async (p) => readLora(await openCheckpoint(p))));
    const errors: [number, ModeldiffError][] = [];
    const got: KeyPairs[] = [];
    forEachKeyPairs(models, (kp) => got.push(kp), { onModelError: (i, e) => errors.push([i, e]) });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]![0], 1);
    assert.equal(errors[0]![1].code, 'LORA_INVALID');
    assert.equal(errors[0]![1].file, paths[1]);
    assert.match(errors[0]![1].message, /lora_up\.weight holds NaN at element 3/);
    assert.deepEqual(got.map((k) => k.members), [[0, 2]]);
    assert.throws(() => forEachKeyPairs(models, () => {}), (e: unknown) => e instanceof ModeldiffError && e.code === 'LORA_INVALID' && e.file === paths[1]);
  });

  test('compare: a LoRA whose factors hold NaN is listed among the errors and the others are compared without it', async () => {
    const bad = good(Q, 30);
    bad.factors = bad.factors.map((f) => (f.suffix === '.lora_down.weight' ? factor(f.suffix, f.shape, f.values.map((x, i) => (i === 1 ? NaN : x)), f.dtype) : f));
    const paths = [file('c1.safetensors', [good(Q, 31)]), file('c2.safetensors', [bad]), file('c3.safetensors', [good(Q, 32)]), file('c4.safetensors', [good('lora_unet_invalid_name', 33)])];
    const r = await compareModels(paths, { outDir: join(dir, 'out-nan'), workers: 0 });
    assert.deepEqual(r.models.map((m) => m.file), ['c1.safetensors', 'c3.safetensors']);
    assert.deepEqual(r.errors.map((e) => [e.file, e.code]).sort(), [['c2.safetensors', 'LORA_INVALID'], ['c4.safetensors', 'LORA_INVALID']]);
    assert.match(r.errors.find((e) => e.file === 'c2.safetensors')!.message, /lora_down\.weight holds NaN at element 1/);
    assert.equal(r.pairs.length, 1);
    assert.equal(r.pairs[0]!.components['unet']!.status, 'changed');
  });
});
