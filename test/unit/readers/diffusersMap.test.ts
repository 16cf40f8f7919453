// The diffusers -> single-file key mapping, checked both ways against the vendored layouts: every diffusers key maps
// to exactly one LDM key with the same element count, and every LDM key of the mapped components is reached once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diffusersToLdm, type DiffusersArch } from '../../../src/compute/keys/diffusersMap';
import { LAYOUT_DIR } from '../../fixtures/synth';
import { clipTextNames, SDXL_BASE_UNET, SDXL_REFINER_UNET, unetNames, vaeNames } from './diffusersLayouts';

type Entry = [string, number[], string];
const layoutFile = (name: string): Entry[] => (JSON.parse(readFileSync(join(LAYOUT_DIR, `${name}.json`), 'utf8')) as { tensors: Entry[] }).tensors;
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Maps every (subfolder, name, shape); returns LDM key -> source names (joined parts count once per part). */
function mapAll(arch: DiffusersArch, items: [string, string, number[]][]): { hits: Map<string, string[]>; unmapped: string[] } {
  const hits = new Map<string, string[]>();
  const unmapped: string[] = [];
  for (const [sub, name, shape] of items) {
    const m = diffusersToLdm(sub, name, shape, arch);
    if (!m) {
      unmapped.push(`${sub}/${name}`);
      continue;
    }
    const list = hits.get(m.key) ?? [];
    list.push(`${sub}/${name}`);
    hits.set(m.key, list);
  }
  return { hits, unmapped };
}

describe('SD 1.5: the vendored diffusers layouts map 1:1 onto sd15.json', () => {
  const ldm = new Map(layoutFile('sd15').map(([n, s]) => [n, s]));
  const mapped = /^(model\.diffusion_model|first_stage_model|cond_stage_model)\./;

  for (const vae of ['sd15_diffusers_vae', 'sd15_diffusers_vae_fp16']) {
    it(`unet + text_encoder + ${vae}: every key maps, shapes equal after mapping, every LDM key reached once`, () => {
      const items: [string, string, number[]][] = [
        ...layoutFile('sd15_diffusers_unet').map(([n, s]): [string, string, number[]] => ['unet', n, s]),
        ...layoutFile('sd15_diffusers_text_encoder').map(([n, s]): [string, string, number[]] => ['text_encoder', n, s]),
        ...layoutFile(vae).map(([n, s]): [string, string, number[]] => ['vae', n, s]),
      ];
      for (const [sub, name, shape] of items) {
        const m = diffusersToLdm(sub, name, shape, 'sd1');
        assert.ok(m, `${sub}/${name} maps`);
        const want = ldm.get(m.key);
        assert.ok(want, `${sub}/${name} -> ${m.key} exists in sd15.json`);
        assert.deepEqual(m.shape ?? shape, want, `${m.key}: shape`);
        assert.equal(numel(shape), numel(want), `${m.key}: element count`);
        assert.equal(m.part, undefined);
        assert.equal(m.transpose, undefined);
      }
      const { hits, unmapped } = mapAll('sd1', items);
      assert.deepEqual(unmapped, []);
      for (const [key, sources] of hits) assert.equal(sources.length, 1, `${key} is reached by ${sources.join(', ')}`);
      const missed = [...ldm.keys()].filter((k) => mapped.test(k) && !hits.has(k));
      assert.deepEqual(missed, []);
    });
  }

  it('VAE attention: Linear [C, C] is recorded as the LDM 1x1 conv [C, C, 1, 1]', () => {
    assert.deepEqual(diffusersToLdm('vae', 'decoder.mid_block.attentions.0.to_q.weight', [512, 512], 'sd1'), {
      key: 'first_stage_model.decoder.mid.attn_1.q.weight',
      shape: [512, 512, 1, 1],
    });
    assert.deepEqual(diffusersToLdm('vae', 'encoder.mid_block.attentions.0.proj_attn.bias', [512], 'sd1'), { key: 'first_stage_model.encoder.mid.attn_1.proj_out.bias' });
    assert.deepEqual(diffusersToLdm('vae', 'encoder.mid_block.attentions.0.group_norm.weight', [512], 'sd1'), { key: 'first_stage_model.encoder.mid.attn_1.norm.weight' });
  });

  it('names outside the known structure keep no LDM name', () => {
    for (const [sub, name] of [
      ['unet', 'down_blocks.3.attentions.0.norm.weight'],
      ['unet', 'down_blocks.3.downsamplers.0.conv.weight'],
      ['unet', 'up_blocks.0.attentions.0.norm.weight'],
      ['unet', 'down_blocks.0.resnets.2.conv1.weight'],
      ['unet', 'down_blocks.0.resnets.0.conv9.weight'],
      ['unet', 'mid_block.attentions.0.transformer_blocks.0.attn3.to_q.weight'],
      ['unet', 'class_embedding.weight'],
      ['vae', 'decoder.up_blocks.3.upsamplers.0.conv.weight'],
      ['text_encoder', 'logit_scale'],
      ['safety_checker', 'vision_model.post_layernorm.weight'],
      ['text_encoder_2', 'text_model.final_layer_norm.weight'],
    ]) {
      assert.equal(diffusersToLdm(sub!, name!, [4], 'sd1'), undefined, `${sub}/${name}`);
    }
  });
});

/** Diffusers items generated from the module structure, with shapes taken from the LDM layout through the mapping. */
function generated(arch: DiffusersArch, ldmLayout: string, components: [string, string[]][]) {
  const ldm = new Map(layoutFile(ldmLayout).map(([n, s]) => [n, s]));
  const items: [string, string, number[]][] = [];
  const dropped: string[] = [];
  for (const [sub, names] of components) {
    for (const name of names) {
      const m = diffusersToLdm(sub, name, [0, 0], arch);
      if (!m) {
        items.push([sub, name, [1]]);
        continue;
      }
      const target = ldm.get(m.key);
      if (!target) {
        dropped.push(`${sub}/${name}`);
        continue;
      }
      let shape = target;
      if (m.part) shape = [target[0]! / m.part.of, ...target.slice(1)];
      else if (m.transpose) shape = [target[1]!, target[0]!];
      else if (target.length === 4 && /mid_block\.attentions/.test(name) && name.endsWith('.weight')) shape = target.slice(0, 2);
      items.push([sub, name, shape]);
    }
  }
  return { ldm, items, dropped };
}

function checkBothWays(arch: DiffusersArch, ldmLayout: string, components: [string, string[]][], mappedPrefix: RegExp, expectUnmapped: RegExp, expectMissing: string[]) {
  const { ldm, items, dropped } = generated(arch, ldmLayout, components);
  // Only the generator's superset of shortcut convolutions may be absent from the LDM model.
  assert.deepEqual(dropped.filter((d) => !/conv_shortcut\.(weight|bias)$/.test(d)), []);
  const { hits, unmapped } = mapAll(arch, items);
  assert.deepEqual(unmapped.filter((u) => !expectUnmapped.test(u)), [], 'unexpected unmapped names');
  for (const [key, sources] of hits) {
    const m = diffusersToLdm(sources[0]!.split('/')[0]!, sources[0]!.slice(sources[0]!.indexOf('/') + 1), [0, 0], arch)!;
    assert.equal(sources.length, m.part ? m.part.of : 1, `${key} is reached by ${sources.join(', ')}`);
  }
  const missed = [...ldm.keys()].filter((k) => mappedPrefix.test(k) && !hits.has(k));
  assert.deepEqual(missed.sort(), expectMissing.slice().sort());
}

describe('SDXL: names generated from the diffusers module structure cover the single-file layouts', () => {
  it('base: unet, text_encoder (CLIP-L), text_encoder_2 (OpenCLIP bigG: q/k/v parts, transposed projection), vae', () => {
    checkBothWays(
      'sdxl-base',
      'sdxl_base',
      [
        ['unet', unetNames(SDXL_BASE_UNET, true)],
        ['text_encoder', clipTextNames(12, false)],
        ['text_encoder_2', clipTextNames(32, true)],
        ['vae', vaeNames()],
      ],
      /^(model\.diffusion_model|conditioner\.embedders\.[01]|first_stage_model)\./,
      /^text_encoder_2\/text_model\.embeddings\.position_ids$/,
      ['conditioner.embedders.1.model.logit_scale'],
    );
  });

  it('refiner: unet with four blocks, OpenCLIP bigG at conditioner.embedders.0', () => {
    checkBothWays(
      'sdxl-refiner',
      'sdxl_refiner',
      [
        ['unet', unetNames(SDXL_REFINER_UNET, true)],
        ['text_encoder_2', clipTextNames(32, true)],
        ['vae', vaeNames()],
      ],
      /^(model\.diffusion_model|conditioner\.embedders\.0|first_stage_model)\./,
      /^text_encoder_2\/text_model\.embeddings\.position_ids$/,
      ['conditioner.embedders.0.model.logit_scale'],
    );
  });

  it('q, k and v are thirds of in_proj in that order; text_projection is transposed', () => {
    const p = 'conditioner.embedders.1.model.transformer.resblocks.7.attn.';
    assert.deepEqual(diffusersToLdm('text_encoder_2', 'text_model.encoder.layers.7.self_attn.q_proj.weight', [1280, 1280], 'sdxl-base'), { key: `${p}in_proj_weight`, part: { index: 0, of: 3 } });
    assert.deepEqual(diffusersToLdm('text_encoder_2', 'text_model.encoder.layers.7.self_attn.v_proj.bias', [1280], 'sdxl-base'), { key: `${p}in_proj_bias`, part: { index: 2, of: 3 } });
    assert.deepEqual(diffusersToLdm('text_encoder_2', 'text_projection.weight', [1280, 640], 'sdxl-base'), {
      key: 'conditioner.embedders.1.model.text_projection',
      shape: [640, 1280],
      transpose: true,
    });
  });
});

describe('SD 2.x: OpenCLIP ViT-H text encoder at cond_stage_model.model', () => {
  it('maps the HF layers it has (diffusers drops the last of the 24 layers and the projection)', () => {
    checkBothWays(
      'sd2',
      'sd2_768_v',
      [['text_encoder', clipTextNames(23, false)]],
      /^cond_stage_model\./,
      /^text_encoder\/text_model\.embeddings\.position_ids$/,
      [
        'cond_stage_model.model.logit_scale',
        'cond_stage_model.model.text_projection',
        ...['ln_1.weight', 'ln_1.bias', 'attn.in_proj_weight', 'attn.in_proj_bias', 'attn.out_proj.weight', 'attn.out_proj.bias', 'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias'].map(
          (s) => `cond_stage_model.model.transformer.resblocks.23.${s}`,
        ),
      ],
    );
  });
});
