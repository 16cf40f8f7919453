import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalizeKeys } from '../../../src/compute/keys/canonical';
import { describeArch } from '../../../src/compute/keys/arch';
import { genericComponents, sortComponents } from '../../../src/compute/keys/components';
import { layout } from '../../fixtures/synth';

function describe(names: readonly string[], shapes: readonly (readonly number[])[], metadata: Record<string, string> = {}) {
  const c = canonicalizeKeys(names, shapes, { metadata });
  return { ...describeArch(c.family, c.detection, c.keys, shapes, c.components, metadata), c };
}

function archOf(name: string, drop: (k: string) => boolean = () => false, extra: { name: string; shape: number[] }[] = [], metadata: Record<string, string> = {}) {
  const L = layout(name, { scale: 32 });
  const tensors = [...L.tensors.filter((t) => !drop(t.name)), ...extra];
  return describe(tensors.map((t) => t.name), tensors.map((t) => t.shape), metadata);
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
  const d = describe(keys, keys.map(() => [4]));
  assert.equal(d.c.family, null);
  assert.deepEqual(d.c.components, ['model.embed_tokens', 'model.layers', 'model.layers', 'model.norm']);
  assert.deepEqual(genericComponents(['lm_head.weight', 'transformer.h.0.attn.weight', 'bias']), ['lm_head', 'transformer', 'other']);
  assert.equal(d.arch, 'generic');
  assert.equal(d.role, 'unknown');
  assert.match(d.detail, /^unknown architecture/);
  assert.deepEqual(sortComponents(['vae', 'zeta', 'unet', 'alpha', 'te']), ['unet', 'te', 'vae', 'alpha', 'zeta']);
});

test('two stored names that normalise to one key keep the first and say so', () => {
  const c = canonicalizeKeys(['cond_stage_model.transformer.text_model.final_layer_norm.weight', 'cond_stage_model.transformer.final_layer_norm.weight', 'model.diffusion_model.out.2.weight']);
  assert.equal(c.keys[0], c.keys[1]);
  assert.ok(c.notes.some((n) => /only the first of each is compared/.test(n)));
});

test('FLUX.1: a bare transformer is read under model.diffusion_model., as inside an all-in-one checkpoint', () => {
  const bare = archOf('flux_dev_transformer');
  assert.equal(bare.arch, 'flux-dev');
  assert.equal(bare.role, 'diffusion_model');
  assert.deepEqual(bare.missing, []);
  assert.ok(bare.c.components.every((c) => c === 'transformer'));
  assert.ok(bare.c.keys.every((k) => k.startsWith('model.diffusion_model.')));
  assert.match(bare.detail, /FLUX\.1 dev \(diffusion model only\)/);
  const aio = archOf('flux_dev_aio');
  assert.equal(aio.arch, 'flux-dev');
  assert.equal(aio.role, 'checkpoint');
  assert.deepEqual(Object.keys(aio.components).sort(), ['clip_l', 't5xxl', 'transformer', 'vae']);
  assert.equal(aio.components['t5xxl']!.name, 'T5-XXL text encoder');
  const transformerKeys = aio.c.keys.filter((_, i) => aio.c.components[i] === 'transformer');
  assert.deepEqual(transformerKeys.sort(), [...bare.c.keys].sort());
  assert.ok(aio.c.keys.some((k) => k.startsWith('first_stage_model.decoder.')), 'the all-in-one VAE (vae.) is read as first_stage_model.');
  assert.ok(!aio.c.components.includes('other'));
  // schnell has no guidance embedding
  assert.equal(archOf('flux_dev_transformer', (k) => k.startsWith('guidance_in.')).arch, 'flux-schnell');
  // Chroma: a distilled guidance network
  assert.equal(archOf('flux_dev_transformer', () => false, [{ name: 'distilled_guidance_layer.in_proj.weight', shape: [8, 8] }]).arch, 'chroma');
});

test('SD3 Medium: MMDiT transformer, CLIP-L, CLIP-G, T5-XXL and VAE; depth from the joint blocks', () => {
  const sd3 = archOf('sd3_medium_aio');
  assert.equal(sd3.arch, 'sd3-medium');
  assert.equal(sd3.role, 'checkpoint');
  assert.deepEqual(Object.keys(sd3.components).sort(), ['clip_g', 'clip_l', 't5xxl', 'transformer', 'vae']);
  assert.match(sd3.detail, /24 joint blocks/);
  const dm = archOf('sd3_medium_aio', (k) => !k.startsWith('model.diffusion_model.'));
  assert.equal(dm.role, 'diffusion_model');
  assert.equal(dm.arch, 'sd3-medium');
  const te = archOf('sd3_medium_aio', (k) => !k.startsWith('text_encoders.'));
  assert.equal(te.role, 'text_encoder');
  assert.deepEqual(te.missing, []);
});

test('SDXL variants from marker keys and modelspec metadata', () => {
  const scalar = (name: string) => ({ name, shape: [] as number[] });
  assert.deepEqual(archOf('sdxl_base', () => false, [scalar('v_pred'), scalar('ztsnr')]).variants, ['v-prediction', 'zero terminal SNR']);
  assert.deepEqual(archOf('sdxl_base', () => false, [scalar('edm_mean'), scalar('edm_std')]).variants, ['EDM, Playground v2.5']);
  assert.deepEqual(archOf('sdxl_base', () => false, [scalar('edm_vpred.sigma_max'), scalar('edm_vpred.sigma_min')]).variants, ['EDM v-prediction']);
  assert.deepEqual(archOf('sdxl_base', () => false, [], { 'modelspec.prediction_type': 'v' }).variants, ['v-prediction']);
  const plain = archOf('sdxl_base');
  assert.deepEqual(plain.variants, []);
  assert.equal(plain.role, 'checkpoint');
  // metadata that disagrees with the keys is noted; the keys decide
  const wrong = archOf('sdxl_base', () => false, [], { 'modelspec.architecture': 'flux-1-dev' });
  assert.equal(wrong.arch, 'sdxl-base');
  assert.ok(wrong.c.notes.some((n) => /modelspec\.architecture says "flux-1-dev"/.test(n)));
});

test('families named by a key but not broken down, and lone components', () => {
  const aura = describe(['double_layers.0.attn.w1q.weight', 'cond_seq_linear.weight'], [[4, 4], [4, 4]]);
  assert.equal(aura.arch, 'generic');
  assert.match(aura.detail, /unknown architecture \(AuraFlow/);
  const vae = archOf('flux_dev_aio', (k) => !k.startsWith('vae.'));
  assert.equal(vae.arch, 'vae-16ch');
  assert.equal(vae.role, 'vae');
  assert.ok(vae.c.keys.every((k) => k.startsWith('first_stage_model.')));
  const t5 = archOf('flux_dev_aio', (k) => !k.startsWith('text_encoders.t5xxl.'));
  assert.equal(t5.arch, 't5xxl');
  assert.equal(t5.role, 'text_encoder');
});
