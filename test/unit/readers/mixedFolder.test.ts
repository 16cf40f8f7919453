// The engine over a folder mixing every format: one SD1.5 model as .safetensors, as a Lightning .ckpt, as a legacy
// .bin and as a diffusers folder compares equal to itself in every component the formats share; a fine-tune differs.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareModels } from '../../../src/compute';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { tmpDir } from '../../helpers/tmp';
import { base, finetune, layout, LAYOUT_DIR, materialize, scaleShape } from '../../fixtures/synth';
import { contiguousTensors, writeTorchLegacy, writeTorchZip } from '../../fixtures/torchWriter';
import { componentFromLdm, writeComponent, writeModelIndex } from './diffusersFolder';
import { readTensor } from './readTensor';

const SCALE = 16;

describe('a folder mixing .safetensors, .ckpt, .bin and a diffusers folder', () => {
  it('compares them all; conversions of one model are equal in every shared component', async () => {
    const dir = tmpDir();
    const models = join(dir, 'models');
    mkdirSync(models);
    const sd15 = base(layout('sd15', { scale: SCALE }), 5);
    materialize(sd15, join(models, 'a-original.safetensors'));
    const s = await openCheckpoint(join(models, 'a-original.safetensors'));
    const tensors = contiguousTensors(s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: readTensor(t) })));
    writeTorchZip(join(models, 'b-converted.ckpt'), { tensors, lightning: { epoch: 0, globalStep: 470000, version: '1.4.2' } });
    writeTorchLegacy(join(models, 'c-converted.bin'), { tensors });
    const folder = join(models, 'd-diffusers');
    writeModelIndex(folder, 'StableDiffusionPipeline', ['unet', 'text_encoder', 'vae']);
    for (const [sub, file] of [['unet', 'sd15_diffusers_unet'], ['text_encoder', 'sd15_diffusers_text_encoder'], ['vae', 'sd15_diffusers_vae']] as const) {
      const items = (JSON.parse(readFileSync(join(LAYOUT_DIR, `${file}.json`), 'utf8')) as { tensors: [string, number[]][] }).tensors.map(([n, shape]): [string, number[]] => [n, scaleShape(shape, SCALE)]);
      writeComponent(folder, sub, componentFromLdm(sd15, 'sd1', sub, items));
    }
    materialize(finetune(sd15, { components: ['unet'], sigma: 0.01, seed: 9 }), join(models, 'e-finetuned.safetensors'));

    const result = await compareModels([models], { outDir: join(dir, 'out'), workers: 0 });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.models.map((m) => [m.file, m.format]),
      [
        ['a-original.safetensors', 'safetensors'],
        ['b-converted.ckpt', 'pytorch-zip'],
        ['c-converted.bin', 'pytorch-legacy'],
        ['d-diffusers', 'diffusers'],
        ['e-finetuned.safetensors', 'safetensors'],
      ],
    );
    const pair = (a: number, b: number) => result.pairs.find((p) => p.a === a && p.b === b)!;
    const same = new Set(['identical', 'equal_values']);
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) {
      for (const [c, d] of Object.entries(pair(a, b).components)) assert.ok(same.has(d.status), `${a}-${b} ${c}: ${d.status}`);
    }
    for (const a of [0, 1, 2]) {
      const comps = pair(a, 3).components;
      for (const c of ['unet', 'te', 'vae']) assert.ok(same.has(comps[c]!.status), `${a}-3 ${c}: ${comps[c]!.status}`);
      // The diffusers folder has no DDPM schedule or EMA bookkeeping: those are only in the single files.
      for (const c of Object.keys(comps).filter((c) => !['unet', 'te', 'vae'].includes(c))) assert.equal(comps[c]!.status, 'only_in_a', `${a}-3 ${c}`);
    }
    assert.equal(pair(0, 4).components.unet!.status, 'changed');
    assert.ok(same.has(pair(3, 4).components.vae!.status));
  });
});
