/**
 * Which base family a LoRA was trained for, when no base model says it: metadata first (kohya's
 * `ss_base_model_version` / `ss_v2`, the sai model spec's `modelspec.architecture`), then which family's layer
 * names its modules fit best, then structural hints (SDXL-only and SD1/2-only blocks, text-encoder widths).
 */
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
  if (arch.startsWith('stable-diffusion-v3')) return 'sd3';
  if (arch.startsWith('flux-1')) return 'flux';
  const v = (metadata['ss_base_model_version'] ?? '').toLowerCase();
  if (v.startsWith('sdxl')) return 'sdxl-base';
  if (v.startsWith('sd_v1')) return 'sd1';
  if (v.startsWith('sd_v2')) return 'sd2';
  if (v.startsWith('sd3')) return 'sd3';
  if (v.startsWith('flux')) return 'flux';
  if (metadata['ss_v2'] === 'True') return 'sd2';
  return undefined;
}

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
  if (tied.includes('flux') && tied.includes('sd3')) return { family: 'flux', from: 'module names (assumed FLUX.1: a diffusers transformer LoRA without single blocks could also be SD3)' };
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
