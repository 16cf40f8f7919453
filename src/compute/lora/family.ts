/**
 * Which base family a LoRA was trained for, when no base model says it: metadata first (kohya's
 * `ss_base_model_version` / `ss_v2`, the sai model spec's `modelspec.architecture`), then which family's layer
 * names its modules fit best, then structural hints (SDXL-only and SD1/2-only blocks, text-encoder widths).
 * And the architecture a LoRA is labelled with: its base's, or the family member its metadata and layers name.
 */
import type { Arch } from '../../shared/result';
import { architecture } from '../keys/architectures';
import type { ModuleLocation } from './names';
import { targetOf } from './targets';
import type { LoraFamily, LoraModule } from './types';

const ALL: LoraFamily[] = ['sdxl-base', 'sd1', 'flux', 'sd2', 'sd3', 'sdxl-refiner'];

export function familyFromMetadata(metadata: Record<string, string>): LoraFamily | undefined {
  const arch = (metadata['modelspec.architecture'] ?? '').toLowerCase();
  if (arch.startsWith('stable-diffusion-xl-v1-refiner')) return 'sdxl-refiner';
  if (arch.startsWith('stable-diffusion-xl')) return 'sdxl-base';
  if (arch.startsWith('stable-diffusion-v1')) return 'sd1';
  if (arch.startsWith('stable-diffusion-v2')) return 'sd2';
  // kohya's sai_model_spec writes "stable-diffusion-3" (+ "-medium", "-5-large"...) and "flux-1-dev", "flux-1-schnell",
  // "flux-1", "chroma", each followed by "/lora"
  if (arch.startsWith('stable-diffusion-v3') || arch.startsWith('stable-diffusion-3')) return 'sd3';
  if (arch.startsWith('flux-1') || arch.startsWith('chroma')) return 'flux';
  const v = (metadata['ss_base_model_version'] ?? '').toLowerCase();
  if (v.startsWith('sdxl')) return 'sdxl-base';
  if (v.startsWith('sd_v1')) return 'sd1';
  if (v.startsWith('sd_v2')) return 'sd2';
  if (v.startsWith('sd3')) return 'sd3';
  if (v.startsWith('flux')) return 'flux';
  if (metadata['ss_v2'] === 'True') return 'sd2';
  return undefined;
}

/** Attention projections of a diffusers transformer block, whose input width is the model's hidden size. */
const ATTENTION_INPUT = /(^|\.)attn\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)$/;
/** Hidden sizes: FLUX.1 3072; SD3 Medium and SD 3.5 Medium 1536, SD 3.5 Large 2432 (64 per joint block). */
const FLUX_HIDDEN = 3072;
const SD3_HIDDEN: ReadonlySet<number> = new Set([1536, 2432]);

export interface FamilyGuess {
  family: LoraFamily;
  from: string;
}

/** The family whose layer names fit the most modules; ties go to metadata, then to structural hints. */
export function guessFamily(located: readonly { module: LoraModule; loc: ModuleLocation }[], metadata: Record<string, string>): FamilyGuess {
  const fromMeta = familyFromMetadata(metadata);
  const scores = new Map<LoraFamily, number>();
  for (const f of ALL) scores.set(f, located.filter(({ loc }) => typeof targetOf(f, loc) !== 'string').length);
  const best = Math.max(...scores.values());
  const tied = ALL.filter((f) => scores.get(f) === best);
  if (tied.length === 1) return { family: tied[0]!, from: 'module names' };
  if (fromMeta && tied.includes(fromMeta)) return { family: fromMeta, from: 'metadata' };
  const paths = located.map(({ loc }) => `${loc.part}:${loc.path}`);
  const any = (re: RegExp) => paths.some((p) => re.test(p));
  if (tied.includes('sdxl-base') && any(/^unet:(label_emb|add_embedding)|transformer_blocks\.[1-9]|^te2:/)) return { family: 'sdxl-base', from: 'module names (SDXL-only layers)' };
  const sd12 = tied.filter((f) => f === 'sd1' || f === 'sd2');
  if (sd12.length > 0 && any(/^unet:(input_blocks\.[12]\.1|output_blocks\.(9|1[01])\.1|down_blocks\.0\.attentions|up_blocks\.3\.attentions)/)) {
    return { family: sd1OrSd2(located, sd12), from: 'module names (SD 1.x/2.x-only layers)' };
  }
  if (sd12.length > 0 && !tied.includes('sdxl-base')) return { family: sd1OrSd2(located, sd12), from: 'module names' };
  if (tied.includes('flux') && tied.includes('sd3')) {
    // a diffusers transformer LoRA without FLUX's single blocks: the attention's input width is the hidden size
    const widths = new Set(located.filter(({ loc }) => loc.part === 'unet' && ATTENTION_INPUT.test(loc.path)).map(({ module }) => module.shape[1]));
    if ([...widths].some((w) => w !== undefined && SD3_HIDDEN.has(w))) return { family: 'sd3', from: 'module names and widths (an SD3 hidden size: 1536 or 2432)' };
    if (widths.has(FLUX_HIDDEN)) return { family: 'flux', from: 'module names and widths (FLUX.1\'s hidden size, 3072)' };
    return { family: 'flux', from: 'module names (assumed FLUX.1: a diffusers transformer LoRA without single blocks could also be SD3)' };
  }
  return { family: tied[0]!, from: `module names (assumed; ${tied.join(', ')} fit equally)` };
}

/** SD 2.x projects attention with Linear layers and has 1024-wide text encoders; SD 1.x uses 1x1 convolutions and 768. */
function sd1OrSd2(located: readonly { module: LoraModule; loc: ModuleLocation }[], candidates: LoraFamily[]): LoraFamily {
  if (candidates.length === 1) return candidates[0]!;
  for (const { module, loc } of located) {
    if (loc.part === 'unet' && /proj_(in|out)$/.test(loc.path)) return module.shape.length === 4 ? 'sd1' : 'sd2';
  }
  for (const { module, loc } of located) {
    if (loc.part !== 'unet' && /self_attn\.q_proj$/.test(loc.path)) return module.shape[1] === 1024 ? 'sd2' : 'sd1';
  }
  return 'sd1';
}

/** The architecture ids a LoRA family's label can name (rows of keys/architectures.ts). */
const GROUP_OF: Record<LoraFamily, 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux'> = { sd1: 'sd1', sd2: 'sd2', 'sdxl-base': 'sdxl', 'sdxl-refiner': 'sdxl', flux: 'flux', sd3: 'sd3' };

export interface LoraArch {
  arch: Exclude<Arch, 'generic'>;
  /** for people: "FLUX.1 dev" (the architecture's own label, as its checkpoints are labelled) */
  label: string;
  /** said when the file does not tell one member of the family from another and one is assumed */
  assumed?: string;
}

/**
 * The architecture a LoRA is labelled with: the base's when the LoRA was read onto a base of its family; else the
 * member of the family its metadata names (`modelspec.architecture`, `ss_base_model_version`), or its layers show
 * (SD3: 38 joint blocks are SD 3.5 Large, `x_block.attn2` is SD 3.5 Medium's MMDiT-X).
 */
export function loraArch(family: LoraFamily, metadata: Record<string, string>, targetKeys: readonly string[], baseArch?: Arch): LoraArch {
  const row = (id: Exclude<Arch, 'generic'>, assumed?: string): LoraArch => ({ arch: id, label: architecture(id)!.label, ...(assumed ? { assumed } : {}) });
  if (baseArch && baseArch !== 'generic' && architecture(baseArch)?.group === GROUP_OF[family]) {
    // an SD family is its own architecture id; a base of another SDXL member (refiner vs base) does not rename it
    if (family === 'flux' || family === 'sd3' || baseArch === family) return row(baseArch);
  }
  const spec = (metadata['modelspec.architecture'] ?? '').toLowerCase();
  const version = (metadata['ss_base_model_version'] ?? '').toLowerCase();
  switch (family) {
    case 'flux':
      if (spec.startsWith('flux-1-schnell') || version.includes('schnell')) return row('flux-schnell');
      if (spec.startsWith('chroma') || version.startsWith('chroma')) return row('chroma');
      if (spec.startsWith('flux-1-dev') || version.includes('dev')) return row('flux-dev');
      return row('flux-dev', 'FLUX.1 dev assumed: the file does not say dev or schnell, and their layers are the same');
    case 'sd3': {
      const declared = `${spec} ${version}`;
      if (/3[._-]5[-_]?l|large/.test(declared)) return row('sd35-large');
      if (/3[._-]5[-_]?m/.test(declared)) return row('sd35-medium');
      const blocks = Math.max(-1, ...targetKeys.map((k) => Number(/\.joint_blocks\.(\d+)\./.exec(k)?.[1] ?? -1)));
      if (blocks >= 24) return row('sd35-large');
      if (targetKeys.some((k) => k.includes('.x_block.attn2.'))) return row('sd35-medium');
      if (/stable-diffusion-3-m|sd3[-_]?m/.test(declared)) return row('sd3-medium');
      return row('sd3-medium', 'SD3 Medium assumed: SD 3.5 Medium has the same blocks, and this LoRA changes none of its own layers (x_block.attn2)');
    }
    default:
      return row(family);
  }
}
