import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { breakdown, breakdownMatrix, breakdownRows } from '../../../src/compute/analysis/breakdown';
import { makeScheme } from '../../../src/compute/analysis/groups';
import { pairIndex } from '../../../src/compute';
import { base, cast, finetune, layout, type FinetuneRecipe } from '../../fixtures/synth';
import { comparedFolder, tmpRoot, type ComparedFolder } from './helpers';

test('breakdownRows: quadrature sums, changed counts, shares; missing values skipped', () => {
  const rows = [
    { key: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight', component: 'unet', l2: 3 },
    { key: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_k.weight', component: 'unet', l2: 4 },
    { key: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', component: 'unet', l2: 0 },
    { key: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_v.weight', component: 'unet', l2: null },
    { key: 'first_stage_model.decoder.conv_in.weight', component: 'vae', l2: 7 },
  ];
  const g = breakdownRows(rows, makeScheme('type'));
  assert.deepEqual(g, [
    { group: 'attn1', l2: 5, keys: 2, changedKeys: 2, share: 1 },
    { group: 'attn2', l2: 0, keys: 1, changedKeys: 0, share: 0 },
  ]);
  const v = breakdownRows(rows.slice(3), makeScheme('type'));
  assert.deepEqual(v, [{ group: 'attn2', l2: null, keys: 0, changedKeys: 0, share: null }]);
});

const startsWith = (p: string) => (k: string) => k.startsWith(p);

describe('breakdowns of engine output (SD1 layout, fp16)', () => {
  const root = tmpRoot('breakdown');
  let f: ComparedFolder;
  let tePartial: FinetuneRecipe;
  let in04: FinetuneRecipe;
  before(async () => {
    const L = layout('sd15', { scale: 32 });
    const b = cast(base(L, 1), 'F16');
    in04 = finetune(b, { components: ['unet'], sigma: 0.002, seed: 2, filter: startsWith('model.diffusion_model.input_blocks.4.') });
    tePartial = finetune(b, { components: ['te'], sigma: 0.002, seed: 3, fraction: 0.3 });
    f = await comparedFolder(root.path, [
      { file: 'base.safetensors', recipe: b },
      { file: 'in04.safetensors', recipe: in04 },
      { file: 'time.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.002, seed: 4, filter: startsWith('model.diffusion_model.time_embed.') }) },
      { file: 'decoder.safetensors', recipe: finetune(b, { components: ['vae'], sigma: 0.002, seed: 5, filter: startsWith('first_stage_model.decoder.') }) },
      { file: 'te_partial.safetensors', recipe: tePartial },
      { file: 'attn2.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.002, seed: 6, filter: (k) => k.includes('.attn2.') }) },
      { file: 'out.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.002, seed: 7, filter: startsWith('model.diffusion_model.out.') }) },
    ]);
  });
  after(() => root.cleanup());

  const src = () => ({ dir: f.out, result: f.result });
  const pair = (x: string, y: string) => [f.index(x), f.index(y)] as const;
  const changed = (bd: { groups: { group: string; changedKeys: number }[] }) => bd.groups.filter((g) => g.changedKeys > 0).map((g) => g.group);

  test('only IN04 changed: one block, every key of it; groups add up to the UNet L2', () => {
    const [a, b] = pair('base.safetensors', 'in04.safetensors');
    const bd = breakdown(src(), a, b, { scheme: 'block' });
    assert.deepEqual(changed(bd), ['IN04']);
    const g = bd.groups.find((x) => x.group === 'IN04')!;
    assert.equal(g.changedKeys, in04.changedKeys.length);
    assert.equal(g.keys, f.result.layers.keys.filter((k) => k.startsWith('model.diffusion_model.input_blocks.4.')).length);
    assert.equal(g.share, 1);
    assert.equal(bd.groups.length, 26);
    const unet = f.result.pairs[pairIndex(a, b, f.result.models.length)]!.components.unet!.l2!;
    assert.ok(Math.abs(bd.total.l2! - unet) <= 1e-6 * unet);
    assert.match(bd.description, /BASE \(sd-mecha convention\)/);
  });

  test('time_embed trained: BASE under the sd-mecha convention, IN00 under SuperMerger/meh', () => {
    const [a, b] = pair('base.safetensors', 'time.safetensors');
    assert.deepEqual(changed(breakdown(src(), a, b, { scheme: 'block' })), ['BASE']);
    const in00 = breakdown(src(), a, b, { scheme: 'block', timeEmbed: 'IN00' });
    assert.deepEqual(changed(in00), ['IN00']);
    assert.equal(in00.groups.find((g) => g.group === 'IN00')!.keys, 6);
    assert.equal(in00.groups[0]!.group, 'IN00');
    assert.deepEqual(changed(breakdown(src(), a, b, { scheme: 'type' })), ['emb_layers']);
  });

  test('out.* goes to OUT11 (SD1)', () => {
    const [a, b] = pair('base.safetensors', 'out.safetensors');
    assert.deepEqual(changed(breakdown(src(), a, b, { scheme: 'block' })), ['OUT11']);
  });

  test('"only the VAE decoder was trained"', () => {
    const [a, b] = pair('base.safetensors', 'decoder.safetensors');
    const bd = breakdown(src(), a, b, { scheme: 'vae' });
    assert.deepEqual(bd.groups.map((g) => g.group), ['encoder', 'decoder', 'quant_conv', 'post_quant_conv']);
    assert.deepEqual(changed(bd), ['decoder']);
    assert.equal(bd.groups.find((g) => g.group === 'encoder')!.l2, 0);
    assert.ok(bd.groups.find((g) => g.group === 'decoder')!.l2! > 0);
    const vae = f.result.pairs[pairIndex(a, b, f.result.models.length)]!.components.vae!.l2!;
    assert.ok(Math.abs(bd.total.l2! - vae) <= 1e-6 * vae);
  });

  test('"the text encoder is partially changed": changed keys per layer match the fine-tune', () => {
    const [a, b] = pair('base.safetensors', 'te_partial.safetensors');
    const bd = breakdown(src(), a, b, { scheme: 'te' });
    const scheme = makeScheme('te');
    const truth = new Map<string, number>();
    for (const k of tePartial.changedKeys) {
      const g = scheme.groupOf(k, 'te')!;
      truth.set(g, (truth.get(g) ?? 0) + 1);
    }
    for (const g of bd.groups) assert.equal(g.changedKeys, truth.get(g.group) ?? 0, g.group);
    assert.ok(bd.groups.some((g) => g.changedKeys === 0), 'some layers untouched');
    assert.equal(bd.total.changedKeys, tePartial.changedKeys.length);
    assert.equal(bd.groups[0]!.group, 'te.embeddings');
    assert.equal(bd.groups.at(-1)!.group, 'te.final_norm');
  });

  test('only cross-attention trained: attn2 alone in the type breakdown', () => {
    const [a, b] = pair('base.safetensors', 'attn2.safetensors');
    const bd = breakdown(src(), a, b, { scheme: 'type' });
    assert.deepEqual(changed(bd), ['attn2']);
    assert.equal(bd.groups.find((g) => g.group === 'attn2')!.changedKeys, 80);
  });

  test('folder matrix = the pair breakdowns, for every scheme and pair', () => {
    for (const scheme of ['block', 'type', 'vae', 'te'] as const) {
      const m = breakdownMatrix(f.out, { scheme });
      assert.equal(m.pairs.length, f.result.pairs.length);
      m.pairs.forEach((p, pi) => {
        const bd = breakdown(src(), p.a, p.b, { scheme });
        assert.deepEqual(bd.groups.map((g) => g.group), m.groups);
        bd.groups.forEach((g, gi) => {
          const v = m.l2[gi]![pi]!;
          assert.ok(v === g.l2 || Math.abs(v - g.l2!) <= 1e-12 * g.l2!, `${scheme} ${g.group} pair ${pi}`);
          assert.equal(m.changedKeys[gi]![pi], g.changedKeys);
          assert.equal(m.keys![gi]![pi], g.keys);
        });
      });
    }
  });
});

describe('SDXL base layout', () => {
  const root = tmpRoot('breakdown-xl');
  let f: ComparedFolder;
  before(async () => {
    const L = layout('sdxl_base', { scale: 48 });
    const b = base(L, 21);
    f = await comparedFolder(root.path, [
      { file: 'xl.safetensors', recipe: b },
      { file: 'xl_out.safetensors', recipe: finetune(b, { components: ['unet'], sigma: 0.002, seed: 8, filter: (k) => k.startsWith('model.diffusion_model.out.') || k.startsWith('model.diffusion_model.label_emb.') }) },
    ]);
  });
  after(() => root.cleanup());

  test('20 slots; out.* in OUT08; label_emb in BASE or IN00', () => {
    const bd = breakdown({ dir: f.out, result: f.result }, 0, 1, { scheme: 'block' });
    assert.equal(bd.layout, 'sdxl');
    assert.equal(bd.groups.length, 20);
    assert.deepEqual(bd.groups.filter((g) => g.changedKeys > 0).map((g) => g.group), ['BASE', 'OUT08']);
    assert.equal(bd.groups.find((g) => g.group === 'BASE')!.changedKeys, 4);
    const m = breakdownMatrix(f.out, { scheme: 'block', timeEmbed: 'IN00' });
    assert.deepEqual(m.layouts, ['sdxl']);
    assert.equal(m.groups.length, 19);
    assert.equal(m.changedKeys[m.groups.indexOf('IN00')]![0], 4);
  });
});
