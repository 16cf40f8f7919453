/**
 * Writes a diffusers folder holding the same weights as a single-file (LDM) recipe: each diffusers tensor takes the
 * values of its LDM counterpart (a third of in_proj for q/k/v, the transpose for text_projection, the same values
 * for a reshaped VAE attention weight), so a correct reader sees equal bytes on both sides.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../../../src/compute/model/dtypes';
import { diffusersToLdm, type DiffusersArch } from '../../../src/compute/keys/diffusersMap';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import type { Recipe } from '../../fixtures/synth';
import { contiguousTensors, writeTorchZip } from '../../fixtures/torchWriter';

export interface DiffusersTensor {
  name: string;
  shape: number[];
  dtype: DType;
  values: Float64Array;
}

/** The diffusers tensors of one subfolder, computed from the LDM recipe. Names without an LDM key are skipped. */
export function componentFromLdm(recipe: Recipe, arch: DiffusersArch, sub: string, items: [string, number[]][]): DiffusersTensor[] {
  const out: DiffusersTensor[] = [];
  for (const [name, shape] of items) {
    const m = diffusersToLdm(sub, name, shape, arch);
    if (!m || !recipe.has(m.key)) continue;
    const spec = recipe.spec(m.key);
    const all = recipe.values(m.key);
    let values = all;
    if (m.part) {
      const rows = spec.shape[0]! / m.part.of;
      const rowSize = all.length / spec.shape[0]!;
      values = all.slice(m.part.index * rows * rowSize, (m.part.index + 1) * rows * rowSize);
    } else if (m.transpose) {
      const [r, c] = spec.shape as [number, number];
      values = new Float64Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) values[j * r + i] = all[i * c + j]!;
    }
    out.push({ name, shape, dtype: spec.dtype, values });
  }
  return out;
}

export interface WriteComponentOptions {
  /** file name inside the subfolder (default diffusion_pytorch_model.safetensors, model.safetensors for text encoders) */
  file?: string;
  /** write a torch zip (.bin) instead of safetensors */
  bin?: boolean;
  /** split into this many shards with an index */
  shards?: number;
  dtype?: DType;
}

export function writeComponent(dir: string, sub: string, tensors: DiffusersTensor[], opts: WriteComponentOptions = {}): void {
  const folder = join(dir, sub);
  mkdirSync(folder, { recursive: true });
  const stem = sub.startsWith('text_encoder') ? 'model' : 'diffusion_pytorch_model';
  const encoded = tensors.map((t) => {
    const dtype = opts.dtype && t.dtype.startsWith('F') ? opts.dtype : t.dtype;
    return { name: t.name, dtype, shape: t.shape, bytes: encode(dtype, t.values) };
  });
  const write = (file: string, list: typeof encoded) => {
    if (opts.bin) writeTorchZip(join(folder, file), { tensors: contiguousTensors(list) });
    else writeSafetensors(join(folder, file), list.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.bytes })), { style: 'dtype-then-name' });
  };
  const ext = opts.bin ? 'bin' : 'safetensors';
  if (!opts.shards) {
    write(opts.file ?? `${stem}.${ext}`, encoded);
    return;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(encoded.length / opts.shards);
  for (let s = 0; s < opts.shards; s++) {
    const file = `${stem}-${String(s + 1).padStart(5, '0')}-of-${String(opts.shards).padStart(5, '0')}.${ext}`;
    const part = encoded.slice(s * per, (s + 1) * per);
    for (const t of part) weightMap[t.name] = file;
    write(file, part);
  }
  writeFileSync(join(folder, `${stem}.${ext}.index.json`), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
}

export function writeModelIndex(dir: string, className: string, components: string[]): void {
  mkdirSync(dir, { recursive: true });
  const index: Record<string, unknown> = { _class_name: className, _diffusers_version: '0.30.0' };
  for (const c of components) index[c] = c === 'unet' ? ['diffusers', 'UNet2DConditionModel'] : c === 'vae' ? ['diffusers', 'AutoencoderKL'] : ['transformers', 'CLIPTextModel'];
  writeFileSync(join(dir, 'model_index.json'), JSON.stringify(index));
}
