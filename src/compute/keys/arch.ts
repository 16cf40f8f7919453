import type { Arch } from '../../shared/result';

export interface ArchInfo {
  arch: Arch;
  detail: string;
  /** components the architecture normally has that this model lacks */
  missing: string[];
}

const EXPECTED: Record<Exclude<Arch, 'generic'>, string[]> = {
  sd1: ['unet', 'te', 'vae'],
  sd2: ['unet', 'te', 'vae'],
  'sdxl-base': ['unet', 'te0', 'te1', 'vae'],
  'sdxl-refiner': ['unet', 'te1', 'vae'],
};

const LABELS: Record<Arch, string> = {
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  'sdxl-base': 'SDXL base',
  'sdxl-refiner': 'SDXL refiner',
  generic: 'not Stable Diffusion',
};

const NAMES: Record<string, string> = { unet: 'UNet', te: 'text encoder', te0: 'CLIP-L text encoder', te1: 'OpenCLIP bigG text encoder', vae: 'VAE' };

/**
 * Recognises the architecture from canonical key names, and shapes where names are not enough
 * (a UNet-only file). Works on scaled-down test models too: it uses ranks and relations, not absolute widths.
 */
export function detectArch(keys: readonly string[], shapes: readonly (readonly number[])[], components: readonly string[], isStableDiffusion: boolean): ArchInfo {
  if (!isStableDiffusion) return { arch: 'generic', detail: `${LABELS.generic}: components from leading key names`, missing: [] };
  const shapeOf = new Map<string, readonly number[]>();
  keys.forEach((k, i) => shapeOf.set(k, shapes[i]!));
  const has = new Set(components);
  const hasPrefix = (p: string) => keys.some((k) => k.startsWith(p));

  let arch: Arch;
  if (has.has('te0') || has.has('te1') || shapeOf.has('model.diffusion_model.label_emb.0.0.weight')) {
    if (has.has('te0')) arch = 'sdxl-base';
    else if (has.has('te1')) arch = 'sdxl-refiner';
    else arch = maxIndex(keys, 'model.diffusion_model.input_blocks.') >= 11 ? 'sdxl-refiner' : 'sdxl-base';
  } else if (hasPrefix('cond_stage_model.model.')) {
    arch = 'sd2';
  } else if (hasPrefix('cond_stage_model.transformer.')) {
    arch = 'sd1';
  } else {
    // No text encoder: SD1 projects attention with 1x1 convolutions, SD2 with linear layers.
    const projIn = shapeOf.get('model.diffusion_model.input_blocks.1.1.proj_in.weight');
    arch = projIn && projIn.length === 2 ? 'sd2' : 'sd1';
  }

  const extras: string[] = [];
  const inConv = shapeOf.get('model.diffusion_model.input_blocks.0.0.weight');
  if (inConv && inConv.length === 4) {
    if (inConv[1] === 9) extras.push('inpainting UNet');
    else if (inConv[1] === 8) extras.push('instruct-pix2pix UNet');
    else if (inConv[1] !== 4) extras.push(`UNet with ${inConv[1]} input channels`);
  }
  const missing = EXPECTED[arch].filter((c) => !has.has(c));
  for (const c of missing) extras.push(`no ${NAMES[c] ?? c}`);
  const emaShadows = keys.filter((k) => k.startsWith('model_ema.') && k !== 'model_ema.decay' && k !== 'model_ema.num_updates').length;
  if (emaShadows > 0) extras.push(`EMA copy (${emaShadows} tensors)`);
  return { arch, detail: extras.length ? `${LABELS[arch]} (${extras.join(', ')})` : LABELS[arch], missing };
}

function maxIndex(keys: readonly string[], prefix: string): number {
  let max = -1;
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const n = Number.parseInt(k.slice(prefix.length), 10);
    if (Number.isFinite(n) && n > max) max = n;
  }
  return max;
}
