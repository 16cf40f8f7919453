import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { checkHealth, checkPositionValues, unexpectedKeys } from '../../../src/compute/analysis/health';
import type { ModelHealth } from '../../../src/shared/analysis';
import { numelOf } from '../../fixtures/safetensorsWriter';
import { base, cast, componentOf, corruptPositionIds, customRecipe, dropComponent, extraKeys, layout, withEma, withNaN, type Recipe } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from './helpers';

test('position ids: exact integers 0..N-1 along the last dimension', () => {
  assert.equal(checkPositionValues([0, 1, 2, 3], [1, 4]).status, 'ok');
  assert.equal(checkPositionValues([0, 1, 0, 1], [2, 2]).status, 'ok');
  const drift = checkPositionValues([0, 0.99997, 2, 2.9999], [1, 4]);
  assert.equal(drift.status, 'corrupt');
  assert.equal(drift.badCount, 2);
  assert.deepEqual(drift.bad, [
    { index: 1, value: 0.99997 },
    { index: 3, value: 2.9999 },
  ]);
  assert.ok(Math.abs(drift.maxDeviation! - 1e-4) < 1e-12);
  assert.equal(drift.fixableByRounding, true);
  const shuffled = checkPositionValues([1, 0, 2], [3]);
  assert.equal(shuffled.fixableByRounding, false);
});

test('unexpected keys: outside the architecture prefixes and known buffers', () => {
  const keys = ['betas', 'logvar', 'v_pred', 'model.diffusion_model.out.0.weight', 'lora_unet_x.lora_down.weight', 'conditioner.embedders.0.transformer.x', 'cond_stage_model.transformer.text_model.x'];
  assert.deepEqual(unexpectedKeys('sd1', keys), ['conditioner.embedders.0.transformer.x', 'lora_unet_x.lora_down.weight']);
  assert.deepEqual(unexpectedKeys('sdxl-base', keys), ['cond_stage_model.transformer.text_model.x', 'lora_unet_x.lora_down.weight']);
  assert.deepEqual(unexpectedKeys('generic', keys), []);
});

describe('health of a synthetic folder', () => {
  const root = tmpRoot('health');
  let f: ComparedFolder;
  let h: Map<string, ModelHealth>;
  const L = layout('sd15', { scale: 32 });
  const b = cast(base(L, 1), 'F16'); // F16 floats, I64 position_ids, I32 num_updates
  const ZERO_KEY = 'model.diffusion_model.out.2.bias';
  const LORA = 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight';
  const mixed = cast(b, 'F32', { filter: (k) => k.startsWith('first_stage_model.') });
  // full-size CLIP position ids (scaled layouts shrink 77 to 3)
  const b77 = customRecipe(
    '77 positions',
    b.specs.map((x) => (x.name.endsWith('position_ids') ? { ...x, shape: [1, 77] } : x)),
    (name) => (name.endsWith('position_ids') ? Float64Array.from({ length: 77 }, (_, i) => i) : b.values(name)),
  );
  const zeroBias = extraKeys(customRecipe('zero bias', b.specs, (name) => (name === ZERO_KEY ? new Float64Array(b.spec(name).shape[0]!) : b.values(name))), [{ name: 'logvar', shape: [32] }]);
  const floatBytes = (r: Recipe, pred: (k: string) => boolean) => r.specs.filter((s) => pred(s.name) && s.dtype.startsWith('F')).reduce((sum, s) => sum + numelOf(s.shape), 0);
  before(async () => {
    f = await comparedFolder(root.path, [
      { file: 'base.safetensors', recipe: b },
      { file: 'pos_drift.safetensors', recipe: corruptPositionIds(b77) },
      { file: 'pos_f16_exact.safetensors', recipe: cast(b77, 'F16', { all: true }) },
      { file: 'nan.safetensors', recipe: withNaN(b, 'model.diffusion_model.out.2.weight') },
      { file: 'zero.safetensors', recipe: zeroBias },
      { file: 'no_vae.safetensors', recipe: dropComponent(b, 'vae') },
      { file: 'lora_inside.safetensors', recipe: extraKeys(b, [{ name: LORA, shape: [4, 10], fill: 'random' }]) },
      { file: 'ema.safetensors', recipe: withEma(b) },
      { file: 'mixed.safetensors', recipe: mixed },
      { file: 'fp32.safetensors', recipe: cast(b, 'F32') },
    ]);
    h = new Map((await checkHealth({ dir: f.out, result: f.result })).map((x) => [x.file, x]));
  });
  after(() => root.cleanup());

  test('a clean fp16 model: ok, its I64 position_ids exact, no waste', () => {
    const x = h.get('base.safetensors')!;
    assert.equal(x.status, 'ok');
    assert.deepEqual(x.findings, []);
    assert.equal(x.positionIds.length, 1);
    assert.equal(x.positionIds[0]!.dtype, 'I64');
    assert.equal(x.positionIds[0]!.status, 'ok');
    assert.equal(x.wasted!.dominantFloat, 'F16');
    assert.equal(x.wasted!.wideInHalfTensors, 0);
    assert.equal(x.wasted!.emaBytes, 0);
  });

  test('float position_ids drifted like 75.9975: corrupt, fixable by rounding; an exact F16 copy is fine', () => {
    const x = h.get('pos_drift.safetensors')!;
    const p = x.positionIds[0]!;
    assert.equal(p.key, 'cond_stage_model.transformer.text_model.embeddings.position_ids');
    assert.equal(p.dtype, 'F32');
    assert.equal(p.status, 'corrupt');
    assert.equal(p.badCount, 76); // 1..76; 0 stays exact
    assert.equal(p.bad[0]!.index, 1);
    assert.equal(p.fixableByRounding, true);
    const last = Math.fround(76 * (1 - 3.3e-5));
    assert.ok(Math.abs(p.maxDeviation! - (76 - last)) < 1e-6);
    assert.ok(last > 75.997 && last < 75.998);
    assert.equal(x.status, 'error');
    assert.match(x.findings[0]!.message, /position_ids \(F32\) is not 0\.\.76/);
    const ok = h.get('pos_f16_exact.safetensors')!;
    assert.equal(ok.positionIds[0]!.dtype, 'F16');
    assert.equal(ok.positionIds[0]!.status, 'ok');
  });

  test('NaN tensor: error with the key', () => {
    const x = h.get('nan.safetensors')!;
    assert.deepEqual(x.nonFinite, { keys: ['model.diffusion_model.out.2.weight'], count: 1 });
    assert.equal(x.status, 'error');
  });

  test('all-zero tensors: a zero UNet bias is a warning, a zero logvar is benign', async () => {
    const small = tmpRoot('health-zero');
    try {
      const g = await comparedFolder(small.path, [
        { file: 'base.safetensors', recipe: b },
        { file: 'zero.safetensors', recipe: zeroBias },
      ]);
      const x = (await checkHealth({ dir: g.out, result: g.result })).find((y) => y.file === 'zero.safetensors')!;
      assert.deepEqual(x.allZero.keys.slice().sort(), ['logvar', ZERO_KEY].sort());
      assert.deepEqual(x.allZero.benign, ['logvar']);
      assert.equal(x.status, 'warning');
      assert.match(x.findings[0]!.message, /1 all-zero weight tensor \(first: model\.diffusion_model\.out\.2\.bias\)/);
      assert.deepEqual(x.unexpectedKeys.keys, []); // logvar is a known buffer
    } finally {
      small.cleanup();
    }
  });

  test('all-zero detection beside an fp32 copy of the same tensor (checked on values, not on the Gram diagonal)', () => {
    const x = h.get('zero.safetensors')!;
    assert.deepEqual(x.allZero.keys.slice().sort(), ['logvar', ZERO_KEY].sort());
  });

  test('missing VAE for the detected SD1 architecture', () => {
    const x = h.get('no_vae.safetensors')!;
    assert.equal(x.arch, 'sd1');
    assert.deepEqual(x.missingComponents, ['vae']);
    assert.equal(x.status, 'warning');
  });

  test('a LoRA key baked into a checkpoint is unexpected, with its bytes', () => {
    const x = h.get('lora_inside.safetensors')!;
    assert.deepEqual(x.unexpectedKeys, { keys: [LORA], count: 1 });
    assert.equal(x.wasted!.unexpectedBytes, 4 * 10 * 4);
  });

  test('wasted space: the EMA copy; fp32 VAE in an fp16 model; an fp32 model could be halved', () => {
    const ema = h.get('ema.safetensors')!;
    const unetParams = floatBytes(b, (k) => componentOf(k) === 'unet');
    assert.equal(ema.wasted!.emaTensors, b.specs.filter((s) => componentOf(s.name) === 'unet').length);
    assert.equal(ema.wasted!.emaBytes, unetParams * 2);
    assert.equal(ema.status, 'ok');
    assert.match(ema.findings[0]!.message, /EMA copy/);

    const m = h.get('mixed.safetensors')!;
    const vaeParams = floatBytes(b, (k) => componentOf(k) === 'vae');
    assert.equal(m.wasted!.dominantFloat, 'F16');
    assert.equal(m.wasted!.wideInHalfTensors, mixed.specs.filter((s) => s.dtype === 'F32').length);
    assert.equal(m.wasted!.wideInHalfSavings, vaeParams * 2);

    const full = h.get('fp32.safetensors')!;
    assert.equal(full.wasted!.dominantFloat, 'F32');
    assert.equal(full.wasted!.wideInHalfTensors, 0);
    assert.equal(full.wasted!.fp16CopySavings, floatBytes(b, () => true) * 2);
  });

  test('a model file gone since the comparison: reported, the rest still checked from result.json', async () => {
    unlinkSync(f.result.models[f.index('nan.safetensors')]!.path);
    const again = (await checkHealth({ dir: f.out, result: f.result })).find((x) => x.file === 'nan.safetensors')!;
    assert.ok(again.error);
    assert.equal(again.wasted, null);
    assert.equal(again.nonFinite.count, 1);
    assert.equal(again.status, 'error');
  });
});
