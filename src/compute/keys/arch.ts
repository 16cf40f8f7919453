import type { Arch } from '../../shared/result';
import { ARCHITECTURES, GENERIC_LABEL, type ArchEvidence } from './architectures';

export interface ArchInfo {
  arch: Arch;
  detail: string;
  /** components the architecture normally has that this model lacks */
  missing: string[];
}

/**
 * Recognises the architecture from canonical key names, and shapes where names are not enough
 * (a UNet-only file). Works on scaled-down test models too: it uses ranks and relations, not absolute widths.
 */
export function detectArch(keys: readonly string[], shapes: readonly (readonly number[])[], components: readonly string[], isStableDiffusion: boolean): ArchInfo {
  if (!isStableDiffusion) return { arch: 'generic', detail: `${GENERIC_LABEL}: components from leading key names`, missing: [] };
  const shapeOf = new Map<string, readonly number[]>();
  keys.forEach((k, i) => shapeOf.set(k, shapes[i]!));
  const has = new Set(components);
  const evidence: ArchEvidence = {
    components: has,
    hasKey: (k) => shapeOf.has(k),
    hasPrefix: (p) => keys.some((k) => k.startsWith(p)),
    shapeOf: (k) => shapeOf.get(k),
    maxIndex: (p) => maxIndex(keys, p),
  };
  // the last row (SD 1.x) holds for any Stable Diffusion key set
  const row = ARCHITECTURES.find((a) => a.detect(evidence)) ?? ARCHITECTURES[ARCHITECTURES.length - 1]!;
  const arch: Arch = row.id;

  const extras: string[] = [];
  const inConv = shapeOf.get('model.diffusion_model.input_blocks.0.0.weight');
  if (inConv && inConv.length === 4) {
    if (inConv[1] === 9) extras.push('inpainting UNet');
    else if (inConv[1] === 8) extras.push('instruct-pix2pix UNet');
    else if (inConv[1] !== 4) extras.push(`UNet with ${inConv[1]} input channels`);
  }
  const missing = row.components.filter((c) => c.expected && !has.has(c.id));
  for (const c of missing) extras.push(`no ${c.name}`);
  const emaShadows = keys.filter((k) => k.startsWith('model_ema.') && k !== 'model_ema.decay' && k !== 'model_ema.num_updates').length;
  if (emaShadows > 0) extras.push(`EMA copy (${emaShadows} tensors)`);
  return { arch, detail: extras.length ? `${row.label} (${extras.join(', ')})` : row.label, missing: missing.map((c) => c.id) };
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
