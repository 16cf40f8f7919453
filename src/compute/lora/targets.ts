/**
 * A located module -> the single-file weight it changes, per family. Keys come out in the standard single-file key
 * space: the diffusion model under `model.diffusion_model.`, SD text encoders where the SD 1.x/2.x/SDXL checkpoints
 * keep them (SDXL refiner's OpenCLIP read as te1, as the engine's canonical names do), FLUX/SD3 text encoders under
 * ComfyUI's `text_encoders.{clip_l,clip_g,t5xxl}.transformer.`. keySpace.ts turns them into a base's own names.
 */
import { diffusersToLdm, type DiffusersArch } from '../keys/diffusersMap';
import type { ModuleLocation } from './names';
import { FLUX_SINGLE_MODULE, SD3_SINGLE_MODULE, transformerModule } from './transformerMaps';
import type { LoraFamily } from './types';

export const UNET_PREFIX = 'model.diffusion_model.';

export interface TargetSpec {
  /** Standard single-file key of the weight (ends in `.weight`). */
  key: string;
  /** The module is row block `index` of the weight, blocks sized `sizes[i]` x the layer's input width. */
  part?: { index: number; sizes: number[] };
  swapHalves?: true;
  swapIfHalves?: true;
}

const LDM_UNET_MODULE =
  /^(input_blocks\.\d+\.\d+|middle_block\.\d+|output_blocks\.\d+\.\d+|time_embed\.[02]|label_emb\.0\.[02]|out\.2)(\.[A-Za-z0-9_.]+)?$/;
const CLIP_MODULE = /^text_model\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.fc[12])$/;
const T5_MODULE = /^encoder\.block\.\d+\.layer\.\d+\.(SelfAttention\.[qkvo]|DenseReluDense\.(wi_0|wi_1|wi|wo))$/;

const COMFY_TE: Record<'clip_l' | 'clip_g' | 't5xxl', string> = {
  clip_l: 'text_encoders.clip_l.transformer.',
  clip_g: 'text_encoders.clip_g.transformer.',
  t5xxl: 'text_encoders.t5xxl.transformer.',
};

/** The weight a module changes in `family`, or a reason it has none. */
export function targetOf(family: LoraFamily, loc: ModuleLocation): TargetSpec | string {
  if (loc.part === 'unet') return unetTarget(family, loc);
  return textEncoderTarget(family, loc);
}

function unetTarget(family: LoraFamily, loc: ModuleLocation): TargetSpec | string {
  const unknown = `no ${FAMILY_LABEL[family]} diffusion-model layer is called "${loc.path}"`;
  if (family === 'flux' || family === 'sd3') {
    if (loc.pathNaming === 'single') {
      const ok = (family === 'flux' ? FLUX_SINGLE_MODULE : SD3_SINGLE_MODULE).test(loc.path);
      return ok ? { key: `${UNET_PREFIX}${loc.path}.weight` } : unknown;
    }
    const m = transformerModule(family, loc.path);
    if (!m || !(family === 'flux' ? FLUX_SINGLE_MODULE : SD3_SINGLE_MODULE).test(m.path)) return unknown;
    const spec: TargetSpec = { key: `${UNET_PREFIX}${m.path}.weight` };
    if (m.part) spec.part = m.part;
    if (m.swapHalves) spec.swapHalves = true;
    if (m.swapIfHalves) spec.swapIfHalves = true;
    return spec;
  }
  if (loc.pathNaming === 'single') return LDM_UNET_MODULE.test(loc.path) ? { key: `${UNET_PREFIX}${loc.path}.weight` } : unknown;
  const k = diffusersToLdm('unet', `${loc.path}.weight`, [], family as DiffusersArch);
  return k ? { key: k.key } : unknown;
}

function textEncoderTarget(family: LoraFamily, loc: ModuleLocation): TargetSpec | string {
  const te = textEncoderOf(family, loc.part);
  if (te === undefined) return `a ${FAMILY_LABEL[family]} model has no text encoder "${loc.part}"`;
  const unknown = `no ${te} layer is called "${loc.path}"`;
  if (te === 't5xxl') return T5_MODULE.test(loc.path) ? { key: `${COMFY_TE.t5xxl}${loc.path}.weight` } : unknown;
  if (!CLIP_MODULE.test(loc.path)) return unknown;
  if (te === 'clip_l' || te === 'clip_g') return { key: `${COMFY_TE[te]}${loc.path}.weight` };
  const k = diffusersToLdm(te, `${loc.path}.weight`, [], family as DiffusersArch);
  if (!k) return unknown;
  const key = k.key.startsWith('conditioner.embedders.0.model.') ? `conditioner.embedders.1.model.${k.key.slice('conditioner.embedders.0.model.'.length)}` : k.key;
  const spec: TargetSpec = { key };
  if (k.part) spec.part = { index: k.part.index, sizes: new Array<number>(k.part.of).fill(1) };
  return spec;
}

/** Which text encoder a LoRA part means in a family: a diffusers subfolder (SD) or a ComfyUI encoder name. */
function textEncoderOf(family: LoraFamily, part: ModuleLocation['part']): string | undefined {
  switch (family) {
    case 'sd1':
    case 'sd2':
      return part === 'te' || part === 'te1' ? 'text_encoder' : undefined;
    case 'sdxl-base':
      return part === 'te1' ? 'text_encoder' : part === 'te2' ? 'text_encoder_2' : undefined;
    case 'sdxl-refiner':
      return part === 'te2' || part === 'te1' ? 'text_encoder_2' : undefined;
    case 'flux':
      // kohya: te1 = CLIP-L, te3 = T5; diffusers: text_encoder = CLIP-L, text_encoder_2 = T5
      return part === 'te' || part === 'te1' ? 'clip_l' : part === 'te2' || part === 'te3' ? 't5xxl' : undefined;
    case 'sd3':
      return part === 'te' || part === 'te1' ? 'clip_l' : part === 'te2' ? 'clip_g' : 't5xxl';
  }
}

export const FAMILY_LABEL: Record<LoraFamily, string> = {
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  'sdxl-base': 'SDXL',
  'sdxl-refiner': 'SDXL refiner',
  flux: 'FLUX.1',
  sd3: 'SD3',
};

/**
 * Component of a standard key, named as the engine names the family's components: the diffusion model is the
 * `unet` of SD 1.x/2.x/SDXL and the `transformer` of FLUX.1/SD3; FLUX/SD3 encoders by their ComfyUI names.
 */
export function componentOfStandardKey(key: string, family: LoraFamily): string {
  if (key.startsWith(UNET_PREFIX)) return family === 'flux' || family === 'sd3' ? 'transformer' : 'unet';
  if (key.startsWith('cond_stage_model.')) return 'te';
  if (key.startsWith('conditioner.embedders.0.')) return 'te0';
  if (key.startsWith('conditioner.embedders.1.')) return 'te1';
  const m = /^text_encoders\.([a-z0-9_]+)\./.exec(key);
  return m ? m[1]! : 'other';
}
