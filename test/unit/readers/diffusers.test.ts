// diffusers folders read as one checkpoint with single-file names, compared with the same weights in one file.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Checkpoint } from '../../../src/compute/model/checkpoint';
import { ModeldiffError } from '../../../src/shared/errors';
import { diffusersToLdm } from '../../../src/compute/keys/diffusersMap';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { tmpDir } from '../../helpers/tmp';
import { base, layout, LAYOUT_DIR, materialize, scaleShape, type Recipe } from '../../fixtures/synth';
import { componentFromLdm, writeComponent, writeModelIndex } from './diffusersFolder';
import { clipTextNames, SDXL_BASE_UNET, unetNames, vaeNames } from './diffusersLayouts';
import { readTensor } from './readTensor';

const dir = tmpDir();
const SD15_SCALE = 16;
const SDXL_SCALE = 64;

const diffusersLayout = (name: string, scale: number): [string, number[]][] =>
  (JSON.parse(readFileSync(join(LAYOUT_DIR, `${name}.json`), 'utf8')) as { tensors: [string, number[], string][] }).tensors.map(([n, s]) => [n, scaleShape(s, scale)]);

const sd15 = base(layout('sd15', { scale: SD15_SCALE }), 7);
const SD15_ITEMS: Record<string, [string, number[]][]> = {
  unet: diffusersLayout('sd15_diffusers_unet', SD15_SCALE),
  text_encoder: diffusersLayout('sd15_diffusers_text_encoder', SD15_SCALE),
  vae: diffusersLayout('sd15_diffusers_vae', SD15_SCALE),
};

function sd15Folder(name: string, opts: { vae?: string; write?: (folder: string) => void } = {}): string {
  const folder = join(dir, name);
  writeModelIndex(folder, 'StableDiffusionPipeline', ['unet', 'text_encoder', 'vae']);
  for (const sub of ['unet', 'text_encoder', 'vae']) {
    const items = sub === 'vae' && opts.vae ? diffusersLayout(opts.vae, SD15_SCALE) : SD15_ITEMS[sub]!;
    writeComponent(folder, sub, componentFromLdm(sd15, 'sd1', sub, items));
  }
  opts.write?.(folder);
  return folder;
}

/** Every tensor of `d` has an equal-named, equal-shaped, equal-dtype tensor in `single` with identical bytes. */
function assertSameWeights(d: Checkpoint, single: Checkpoint, prefixes: RegExp): { compared: number; onlySingle: string[] } {
  const byName = new Map(single.tensors.map((t) => [t.name, t]));
  let compared = 0;
  for (const t of d.tensors) {
    if (t.name.startsWith('diffusers.')) continue;
    const s = byName.get(t.name);
    assert.ok(s, `${t.name} exists in the single file`);
    assert.deepEqual(t.shape, s.shape, `${t.name}: shape`);
    assert.equal(t.dtype, s.dtype, `${t.name}: dtype`);
    assert.equal(t.numel, s.numel);
    assert.ok(readTensor(t).equals(readTensor(s)), `${t.name}: bytes`);
    compared++;
  }
  const names = new Set(d.tensors.map((t) => t.name));
  const onlySingle = single.tensors.filter((t) => prefixes.test(t.name) && !names.has(t.name)).map((t) => t.name);
  return { compared, onlySingle };
}

describe('SD 1.5 diffusers folder', () => {
  const single = join(dir, 'sd15.safetensors');
  materialize(sd15, single);

  for (const vae of ['sd15_diffusers_vae', 'sd15_diffusers_vae_fp16']) {
    it(`maps every key onto the single file with equal shapes and bytes (${vae})`, async () => {
      const folder = sd15Folder(`sd15-${vae}`, { vae });
      const d = await openCheckpoint(folder);
      const s = await openCheckpoint(single);
      assert.equal(d.format, 'diffusers');
      assert.equal(d.naming, 'ldm');
      assert.deepEqual(d.tensors.filter((t) => t.name.startsWith('diffusers.')).map((t) => t.name), []);
      const { compared, onlySingle } = assertSameWeights(d, s, /^(model\.diffusion_model|cond_stage_model|first_stage_model)\./);
      assert.equal(compared, 686 + 197 + 248);
      assert.deepEqual(onlySingle, []);
      const attn = d.tensors.find((t) => t.name === 'first_stage_model.decoder.mid.attn_1.q.weight')!;
      assert.deepEqual(attn.shape, [32, 32, 1, 1]);
      assert.match(d.notes[0]!, /read as SD 1\.x/);
      assert.ok(d.notes.includes('unet: read unet/diffusion_pytorch_model.safetensors'), d.notes.join('\n'));
    });
  }

  it('prefers the default weights, then full precision, EMA variants next, fp16 last; says which', async () => {
    const folder = sd15Folder('variants', {
      write: (f) => {
        const unet = componentFromLdm(sd15, 'sd1', 'unet', SD15_ITEMS.unet!);
        writeComponent(f, 'unet', unet, { file: 'diffusion_pytorch_model.fp16.safetensors', dtype: 'F16' });
        writeComponent(f, 'unet', unet, { file: 'diffusion_pytorch_model.non_ema.safetensors' });
        writeComponent(f, 'unet', unet, { file: 'diffusion_pytorch_model.bin', bin: true });
      },
    });
    const d = await openCheckpoint(folder);
    const note = d.notes.find((n) => n.startsWith('unet: read'))!;
    assert.equal(
      note,
      'unet: read unet/diffusion_pytorch_model.safetensors (not read: unet/diffusion_pytorch_model.bin, unet/diffusion_pytorch_model.non_ema.safetensors, unet/diffusion_pytorch_model.fp16.safetensors)',
    );
    const only = join(dir, 'variants-only');
    mkdirSync(only);
    writeModelIndex(only, 'StableDiffusionPipeline', ['unet']);
    const unet = componentFromLdm(sd15, 'sd1', 'unet', SD15_ITEMS.unet!);
    writeComponent(only, 'unet', unet, { file: 'diffusion_pytorch_model.fp16.safetensors', dtype: 'F16' });
    writeComponent(only, 'unet', unet, { file: 'diffusion_pytorch_model.non_ema.safetensors' });
    const o = await openCheckpoint(only);
    assert.ok(o.notes.includes('unet: read unet/diffusion_pytorch_model.non_ema.safetensors (not read: unet/diffusion_pytorch_model.fp16.safetensors)'), o.notes.join('\n'));
    assert.ok(o.tensors.every((t) => t.dtype === 'F32'));
  });

  it('reads sharded weights through their index, and .bin components', async () => {
    const folder = join(dir, 'sharded');
    writeModelIndex(folder, 'StableDiffusionPipeline', ['unet', 'text_encoder', 'vae']);
    writeComponent(folder, 'unet', componentFromLdm(sd15, 'sd1', 'unet', SD15_ITEMS.unet!), { shards: 3 });
    writeComponent(folder, 'text_encoder', componentFromLdm(sd15, 'sd1', 'text_encoder', SD15_ITEMS.text_encoder!), { bin: true });
    writeComponent(folder, 'vae', componentFromLdm(sd15, 'sd1', 'vae', SD15_ITEMS.vae!), { bin: true, shards: 2 });
    const d = await openCheckpoint(folder);
    const { compared } = assertSameWeights(d, await openCheckpoint(single), /^$/);
    assert.equal(compared, 686 + 197 + 248);
    assert.ok(d.notes.includes('unet: read unet/diffusion_pytorch_model.safetensors.index.json'), d.notes.join('\n'));
  });

  it('refuses indexes that point outside the folder, disagree with their shards, or a folder with no weights', async () => {
    const expectInvalid = async (folder: string, re: RegExp) => {
      await assert.rejects(openCheckpoint(folder), (e: unknown) => e instanceof ModeldiffError && e.code === 'DIFFUSERS_INVALID' && re.test(e.message) && e.file !== undefined);
    };
    const bad = (name: string, edit: (index: { weight_map: Record<string, string> }) => void) => {
      const folder = join(dir, name);
      writeModelIndex(folder, 'StableDiffusionPipeline', ['unet']);
      writeComponent(folder, 'unet', componentFromLdm(sd15, 'sd1', 'unet', SD15_ITEMS.unet!.slice(0, 20)), { shards: 2 });
      const p = join(folder, 'unet', 'diffusion_pytorch_model.safetensors.index.json');
      const index = JSON.parse(readFileSync(p, 'utf8'));
      edit(index);
      writeFileSync(p, JSON.stringify(index));
      return folder;
    };
    await expectInvalid(bad('escape', (i) => (i.weight_map['conv_in.weight'] = '../../../etc/passwd')), /not a file name in the same folder/);
    const moveToOtherShard = (i: { weight_map: Record<string, string> }) => {
      const shards = [...new Set(Object.values(i.weight_map))];
      i.weight_map['conv_in.weight'] = shards.find((f) => f !== i.weight_map['conv_in.weight'])!;
    };
    await expectInvalid(bad('moved', moveToOtherShard), /index puts elsewhere or nowhere|lacks/);
    const empty = join(dir, 'empty');
    writeModelIndex(empty, 'StableDiffusionPipeline', ['unet']);
    await expectInvalid(empty, /none of unet, transformer, text_encoder, text_encoder_2, text_encoder_3, vae with weights/);
    const broken = join(dir, 'broken-index');
    mkdirSync(broken);
    writeFileSync(join(broken, 'model_index.json'), '{"unet": [');
    await expectInvalid(broken, /model_index\.json is not valid JSON/);
  });
});

describe('SDXL base diffusers folder', () => {
  it('joins q/k/v into in_proj, transposes text_projection, and matches the single file byte for byte', async () => {
    const ldm = base(layout('sdxl_base', { scale: SDXL_SCALE }), 11);
    const single = join(dir, 'sdxl.safetensors');
    materialize(ldm, single);
    const folder = join(dir, 'sdxl');
    writeModelIndex(folder, 'StableDiffusionXLPipeline', ['unet', 'text_encoder', 'text_encoder_2', 'vae']);
    const shapes = (sub: string, names: string[]) => namesWithShapes(ldm, sub, names);
    writeComponent(folder, 'unet', componentFromLdm(ldm, 'sdxl-base', 'unet', shapes('unet', unetNames(SDXL_BASE_UNET, true))));
    writeComponent(folder, 'text_encoder', componentFromLdm(ldm, 'sdxl-base', 'text_encoder', shapes('text_encoder', clipTextNames(12, false))));
    writeComponent(folder, 'text_encoder_2', componentFromLdm(ldm, 'sdxl-base', 'text_encoder_2', shapes('text_encoder_2', clipTextNames(32, true))));
    writeComponent(folder, 'vae', componentFromLdm(ldm, 'sdxl-base', 'vae', shapes('vae', vaeNames())));
    const d = await openCheckpoint(folder);
    const s = await openCheckpoint(single);
    const { compared, onlySingle } = assertSameWeights(d, s, /^(model\.diffusion_model|conditioner|first_stage_model)\./);
    assert.deepEqual(onlySingle, ['conditioner.embedders.1.model.logit_scale']);
    assert.equal(compared, s.tensors.length - 1);
    const inProj = d.tensors.find((t) => t.name === 'conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight')!;
    assert.equal(inProj.parts?.length, 3);
    const proj = d.tensors.find((t) => t.name === 'conditioner.embedders.1.model.text_projection')!;
    assert.deepEqual(proj.strides, [1, proj.shape[0]]);
    assert.match(d.notes[0]!, /read as SDXL base/);
  });
});

/** Diffusers shapes for generated names, derived from the LDM shapes (see diffusersLayouts.ts). */
function namesWithShapes(ldm: Recipe, sub: string, names: string[]): [string, number[]][] {
  return names.flatMap((name): [string, number[]][] => {
    const m = diffusersToLdm(sub, name, [0, 0], 'sdxl-base');
    if (!m || !ldm.has(m.key)) return [];
    const target = ldm.spec(m.key).shape;
    if (m.part) return [[name, [target[0]! / m.part.of, ...target.slice(1)]]];
    if (m.transpose) return [[name, [target[1]!, target[0]!]]];
    if (m.key.includes('.mid.attn_1.') && target.length === 4) return [[name, target.slice(0, 2)]];
    return [[name, target.slice()]];
  });
}
