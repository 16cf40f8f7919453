import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalizeKeys } from '../../../src/compute/keys/canonical';
import { detectArch } from '../../../src/compute/keys/arch';
import { genericComponents, sortComponents } from '../../../src/compute/keys/components';
import { layout } from '../../fixtures/synth';

function archOf(name: string, drop: (k: string) => boolean = () => false) {
  const L = layout(name, { scale: 32 });
  const tensors = L.tensors.filter((t) => !drop(t.name));
  const c = canonicalizeKeys(tensors.map((t) => t.name));
  return { ...detectArch(c.keys, tensors.map((t) => t.shape), c.components, c.isStableDiffusion), c };
}

test('architectures are recognised from the real key layouts, scaled', () => {
  assert.equal(archOf('sd15').arch, 'sd1');
  assert.equal(archOf('sd15_full_ema').arch, 'sd1');
  assert.equal(archOf('nai_animefull').arch, 'sd1');
  assert.equal(archOf('sd2_768_v').arch, 'sd2');
  assert.equal(archOf('sdxl_base').arch, 'sdxl-base');
  assert.equal(archOf('sdxl_refiner').arch, 'sdxl-refiner');
  // UNet-only files: shapes decide.
  const unetOnly = (k: string) => !k.startsWith('model.diffusion_model.');
  assert.equal(archOf('sd15', unetOnly).arch, 'sd1');
  assert.equal(archOf('sd2_768_v', unetOnly).arch, 'sd2');
  assert.equal(archOf('sdxl_base', unetOnly).arch, 'sdxl-base');
  assert.equal(archOf('sdxl_refiner', unetOnly).arch, 'sdxl-refiner');
});

test('missing components are named in the detail', () => {
  const a = archOf('sd15', (k) => k.startsWith('first_stage_model.'));
  assert.deepEqual(a.missing, ['vae']);
  assert.match(a.detail, /no VAE/);
  assert.match(archOf('sd15_full_ema').detail, /EMA copy \(686 tensors\)/);
  assert.deepEqual(archOf('sdxl_base', (k) => k.startsWith('conditioner.')).missing, ['te0', 'te1']);
});

test('NovelAI text encoder names become the standard ones', () => {
  const nai = archOf('nai_animefull').c;
  const sd = archOf('sd15').c;
  assert.deepEqual([...nai.keys].sort(), [...sd.keys].sort());
  assert.ok(nai.notes.some((n) => /NovelAI/.test(n)));
  assert.equal(sd.notes.length, 0);
});

test('dotless EMA names are restored from the model\'s own UNet keys', () => {
  const { c } = archOf('sd15_full_ema');
  assert.ok(c.keys.includes('model_ema.diffusion_model.input_blocks.10.0.emb_layers.1.weight'));
  assert.ok(c.keys.includes('model_ema.diffusion_model.out.2.weight'));
  assert.ok(c.keys.includes('model_ema.decay'));
  assert.equal(c.keys.filter((k) => k.startsWith('model_ema.')).length, 688);
  assert.ok(c.keys.every((k, i) => !k.startsWith('model_ema.') || c.components[i] === 'ema'));
});

test('the refiner\'s OpenCLIP encoder compares as te1', () => {
  const { c } = archOf('sdxl_refiner');
  assert.ok(c.keys.some((k) => k.startsWith('conditioner.embedders.1.model.')));
  assert.ok(!c.keys.some((k) => k.startsWith('conditioner.embedders.0.')));
  assert.ok(c.components.includes('te1') && !c.components.includes('te0'));
});

test('components of the SD layouts', () => {
  const { c } = archOf('sd15');
  const count = (x: string) => c.components.filter((y) => y === x).length;
  assert.deepEqual({ unet: count('unet'), te: count('te'), vae: count('vae'), ema: count('ema'), other: count('other') }, { unet: 686, te: 197, vae: 248, ema: 2, other: 12 });
  const xl = archOf('sdxl_base').c;
  assert.equal(xl.components.filter((x) => x === 'te0').length, 197);
  assert.equal(xl.components.filter((x) => x === 'te1').length, 390);
});

test('a model that is not Stable Diffusion gets components from its leading key names', () => {
  const keys = ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.1.mlp.up_proj.weight', 'model.norm.weight'];
  const c = canonicalizeKeys(keys);
  assert.equal(c.isStableDiffusion, false);
  assert.deepEqual(c.components, ['model.embed_tokens', 'model.layers', 'model.layers', 'model.norm']);
  assert.deepEqual(genericComponents(['lm_head.weight', 'transformer.h.0.attn.weight', 'bias']), ['lm_head', 'transformer', 'other']);
  assert.equal(detectArch(c.keys, keys.map(() => [4]), c.components, false).arch, 'generic');
  assert.deepEqual(sortComponents(['vae', 'zeta', 'unet', 'alpha', 'te']), ['unet', 'te', 'vae', 'alpha', 'zeta']);
});

test('two stored names that normalise to one key keep the first and say so', () => {
  const c = canonicalizeKeys(['cond_stage_model.transformer.text_model.final_layer_norm.weight', 'cond_stage_model.transformer.final_layer_norm.weight', 'model.diffusion_model.out.2.weight']);
  assert.equal(c.keys[0], c.keys[1]);
  assert.ok(c.notes.some((n) => /only the first of each is compared/.test(n)));
});
