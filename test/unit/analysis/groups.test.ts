import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeKeys } from '../../../src/compute/keys/canonical';
import { blockLabels, makeScheme, orderLabels, pairLayout, tePartOf, unetBlockOf, unetTypeOf, vaePartOf, type GroupScheme } from '../../../src/compute/analysis/groups';
import { layout } from '../../fixtures/synth';

/** canonical keys and components of a full-size layout */
function keysOf(name: string): { key: string; component: string }[] {
  const c = canonicalizeKeys(layout(name).tensors.map((t) => t.name));
  return c.keys.map((key, i) => ({ key, component: c.components[i]! }));
}

function counts(scheme: GroupScheme, keys: { key: string; component: string }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const { key, component } of keys) {
    const g = scheme.groupOf(key, component);
    if (g !== null) m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

const U = 'model.diffusion_model.';

describe('merge blocks', () => {
  test('slot lists: 26 for SD1/SD2, 20 for SDXL base', () => {
    assert.equal(blockLabels('sd').length, 26);
    assert.equal(blockLabels('sdxl').length, 20);
    assert.deepEqual(blockLabels('sdxl').slice(0, 3), ['BASE', 'IN00', 'IN01']);
    assert.equal(blockLabels('sdxl').at(-1), 'OUT08');
    assert.equal(blockLabels('sd')[13], 'M00');
  });

  for (const [name, lay, slots] of [
    ['sd15', 'sd', 26],
    ['sd2_768_v', 'sd', 26],
    ['sdxl_base', 'sdxl', 20],
    ['sdxl_refiner', 'sd', 26],
  ] as const) {
    test(`${name}: every UNet key in one of the ${slots} slots, each slot used, nothing else`, () => {
      const keys = keysOf(name);
      for (const te of ['BASE', 'IN00'] as const) {
        const c = counts(makeScheme('block', { layout: lay, timeEmbed: te }), keys);
        assert.deepEqual([...c.keys()].sort(), blockLabels(lay).filter((l) => te === 'BASE' || l !== 'BASE').sort());
        const unet = keys.filter((k) => k.component === 'unet').length;
        assert.equal([...c.values()].reduce((a, b) => a + b, 0), unet);
      }
    });
  }

  test('time_embed / label_emb: BASE (sd-mecha) or IN00 (SuperMerger, meh); out.* in the last OUT block', () => {
    const sd = keysOf('sd15');
    const base = counts(makeScheme('block', { layout: 'sd', timeEmbed: 'BASE' }), sd);
    const in00 = counts(makeScheme('block', { layout: 'sd', timeEmbed: 'IN00' }), sd);
    assert.equal(base.get('BASE'), 4); // time_embed.0/2 weight+bias
    assert.equal(base.get('IN00'), 2); // input_blocks.0.0 weight+bias
    assert.equal(in00.get('IN00'), 6);
    assert.equal(unetBlockOf('out.2.weight', 'sd', 'BASE'), 'OUT11');
    assert.equal(unetBlockOf('out.0.bias', 'sdxl', 'BASE'), 'OUT08');
    const xl = counts(makeScheme('block', { layout: 'sdxl', timeEmbed: 'BASE' }), keysOf('sdxl_base'));
    assert.equal(xl.get('BASE'), 8); // time_embed (4) + label_emb (4)
    assert.equal(unetBlockOf('label_emb.0.0.weight', 'sdxl', 'IN00'), 'IN00');
    assert.equal(unetBlockOf('input_blocks.10.0.emb_layers.1.weight', 'sd', 'BASE'), 'IN10');
  });

  test('other components: left out by default, one slot each on request', () => {
    const keys = keysOf('sdxl_base');
    assert.equal(makeScheme('block').groupOf('first_stage_model.decoder.conv_in.weight', 'vae'), null);
    const c = counts(makeScheme('block', { layout: 'sdxl', otherComponents: true }), keys);
    assert.equal(c.get('TE0'), 197);
    assert.equal(c.get('TE1'), 390);
    assert.equal(c.get('VAE'), 248);
  });

  test('pair layout: SDXL only when no side has 12 blocks', () => {
    assert.equal(pairLayout('sdxl-base', 'sdxl-base'), 'sdxl');
    assert.equal(pairLayout('sdxl-base', 'generic'), 'sdxl');
    assert.equal(pairLayout('sdxl-base', 'sd1'), 'sd');
    assert.equal(pairLayout('sdxl-refiner', 'sdxl-base'), 'sd');
    assert.equal(pairLayout('sd2', 'sd2'), 'sd');
  });
});

describe('layer types', () => {
  test('named examples', () => {
    const cases: [string, string][] = [
      ['input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight', 'attn1'],
      ['middle_block.1.transformer_blocks.0.attn2.to_out.0.bias', 'attn2'],
      ['output_blocks.3.1.transformer_blocks.0.ff.net.0.proj.weight', 'ff'],
      ['output_blocks.3.1.transformer_blocks.0.ff.net.2.bias', 'ff'],
      ['input_blocks.1.1.transformer_blocks.0.norm3.weight', 'norm'],
      ['input_blocks.1.1.norm.bias', 'norm'],
      ['input_blocks.1.0.in_layers.0.weight', 'norm'],
      ['output_blocks.0.0.out_layers.0.bias', 'norm'],
      ['out.0.weight', 'norm'],
      ['input_blocks.1.1.proj_in.weight', 'proj'],
      ['middle_block.1.proj_out.bias', 'proj'],
      ['input_blocks.1.0.emb_layers.1.weight', 'emb_layers'],
      ['time_embed.0.weight', 'emb_layers'],
      ['label_emb.0.2.bias', 'emb_layers'],
      ['input_blocks.1.0.in_layers.2.weight', 'others'],
      ['input_blocks.1.0.out_layers.3.weight', 'others'],
      ['output_blocks.0.0.skip_connection.weight', 'others'],
      ['input_blocks.3.0.op.weight', 'others'],
      ['output_blocks.2.1.conv.weight', 'others'],
      ['input_blocks.0.0.weight', 'others'],
      ['out.2.bias', 'others'],
    ];
    for (const [k, t] of cases) assert.equal(unetTypeOf(k), t, k);
  });

  test("SD1 UNet: 80 attn1, 80 attn2, 526 others as in the notebook's comment, split into the finer types", () => {
    const c = counts(makeScheme('type'), keysOf('sd15'));
    assert.equal(c.get('attn1'), 80);
    assert.equal(c.get('attn2'), 80);
    const rest = ['ff', 'norm', 'proj', 'emb_layers', 'others'].reduce((s, t) => s + (c.get(t) ?? 0), 0);
    assert.equal(rest, 526);
    assert.equal(c.get('ff'), 64); // 16 transformer blocks x 4
    assert.equal(c.get('proj'), 64); // 16 x proj_in/proj_out weight+bias
    assert.equal(c.get('emb_layers'), 4 + 22 * 2); // time_embed + 22 ResBlocks
    assert.equal(c.get('norm'), 16 * 8 + 22 * 4 + 2); // transformer norms + ResBlock GroupNorms + out.0
  });

  test('only UNet keys are typed', () => {
    assert.equal(makeScheme('type').groupOf('first_stage_model.encoder.mid.attn_1.norm.weight', 'vae'), null);
    assert.equal(makeScheme('type').groupOf('model_ema.diffusion_model.out.0.weight', 'ema'), null);
  });
});

describe('VAE and text-encoder parts', () => {
  test('VAE parts of the kl-f8 VAE', () => {
    const c = counts(makeScheme('vae'), keysOf('sd15'));
    assert.equal(c.get('quant_conv'), 2);
    assert.equal(c.get('post_quant_conv'), 2);
    assert.equal((c.get('encoder') ?? 0) + (c.get('decoder') ?? 0), 244);
    assert.equal(c.get('encoder'), 106);
    assert.equal(c.get('other'), undefined);
    assert.equal(vaePartOf('decoder.up.0.block.0.conv1.weight'), 'decoder');
  });

  test('CLIP-L (HF names), OpenCLIP ViT-H and bigG (resblocks), NAI names after canonicalisation', () => {
    const sd1 = counts(makeScheme('te'), keysOf('sd15'));
    assert.equal(sd1.get('te.embeddings'), 3);
    assert.equal(sd1.get('te.final_norm'), 2);
    for (let i = 0; i < 12; i++) assert.equal(sd1.get(`te.layer${String(i).padStart(2, '0')}`), 16);
    assert.equal(sd1.size, 14);
    assert.deepEqual(counts(makeScheme('te'), keysOf('nai_animefull')), sd1);

    const sd2 = counts(makeScheme('te'), keysOf('sd2_768_v'));
    assert.equal(sd2.get('te.layer23'), 12);
    assert.equal(sd2.get('te.projection'), 1);
    assert.equal(sd2.get('te.other'), 1); // logit_scale

    const xl = counts(makeScheme('te'), keysOf('sdxl_base'));
    assert.equal(xl.get('te0.embeddings'), 3);
    assert.equal(xl.get('te1.embeddings'), 2);
    assert.equal(xl.get('te1.layer31'), 12);
    assert.equal(xl.get('te1.final_norm'), 2);
    assert.equal(xl.get('te1.projection'), 1);
    const refiner = counts(makeScheme('te'), keysOf('sdxl_refiner'));
    assert.equal(refiner.get('te1.layer31'), 12); // embedders.0.model canonicalised to te1
    assert.equal(tePartOf('transformer.text_projection.weight'), 'projection');
  });

  test('label order: embeddings, layers by number, final norm, projection', () => {
    const s = makeScheme('te');
    const labels = orderLabels(s, ['te1.projection', 'te1.layer10', 'te0.final_norm', 'te1.layer02', 'te0.embeddings', 'te1.other', 'te1.embeddings']);
    assert.deepEqual(labels, ['te0.embeddings', 'te0.final_norm', 'te1.embeddings', 'te1.layer02', 'te1.layer10', 'te1.projection', 'te1.other']);
    assert.deepEqual(orderLabels(makeScheme('block'), ['OUT11', 'IN02', 'BASE', 'M00']), ['BASE', 'IN02', 'M00', 'OUT11']);
  });
});

test('keys outside a scheme give null', () => {
  assert.equal(makeScheme('vae').groupOf(U + 'out.0.weight', 'unet'), null);
  assert.equal(makeScheme('te').groupOf('first_stage_model.encoder.conv_in.weight', 'vae'), null);
  assert.equal(makeScheme('block').groupOf('betas', 'other'), null);
});
