import type { Arch, FileRole } from '../../shared/result';
import { ARCHITECTURES, DIFFUSION_PREFIX, GENERIC_LABEL, GGUF_ARCHITECTURES, UNSUPPORTED_FAMILIES, type ArchEvidence, type ArchitectureRow } from './architectures';

export interface ArchInfo {
  arch: Arch;
  detail: string;
  role: FileRole;
  /** variants of the family told by keys or metadata (v-prediction, EDM...) */
  variants: string[];
  /** components the architecture normally has that this model lacks (full checkpoints only) */
  missing: string[];
  /** component id -> its name and kind (the family's components that the model has) */
  components: Record<string, { name: string; kind: string }>;
}

export interface FamilyDetection {
  family: ArchitectureRow | null;
  /** for an unknown architecture: the name of a family recognised by a key or declared by the file */
  unsupported?: string;
  /** what the metadata says when the keys say otherwise */
  notes: string[];
}

/** Evidence over one model's key names (and their shapes, when known). */
export function keyEvidence(keys: readonly string[], shapes?: readonly (readonly number[])[]): ArchEvidence {
  const shapeOf = new Map<string, readonly number[]>();
  const set = new Set(keys);
  if (shapes) keys.forEach((k, i) => shapeOf.set(k, shapes[i]!));
  const hasPrefix = (p: string) => keys.some((k) => k.startsWith(p));
  const maxIdx = (p: string) => maxIndex(keys, p);
  return {
    hasKey: (k) => set.has(k),
    hasPrefix,
    shapeOf: (k) => shapeOf.get(k),
    maxIndex: maxIdx,
    dm: (k) => set.has(DIFFUSION_PREFIX + k) || set.has(k),
    dmPrefix: (p) => hasPrefix(DIFFUSION_PREFIX + p) || hasPrefix(p),
    dmShape: (k) => shapeOf.get(DIFFUSION_PREFIX + k) ?? shapeOf.get(k),
    dmMaxIndex: (p) => Math.max(maxIdx(DIFFUSION_PREFIX + p), maxIdx(p)),
  };
}

/**
 * The family of a key set: the first row of the architecture table whose detection holds. A GGUF file's
 * `general.architecture` and a safetensors file's `modelspec.architecture` are checked against it (the keys decide;
 * a disagreement is noted), and name the family of a file whose keys are no supported family's.
 */
export function detectFamily(e: ArchEvidence, metadata: Readonly<Record<string, string>>, keys: readonly string[] = []): FamilyDetection {
  const family = ARCHITECTURES.find((a) => a.detect(e)) ?? (looksLikeStableDiffusion(keys) ? SD_FALLBACK : null);
  const notes: string[] = [];
  const gguf = metadata['general.architecture'];
  const declared = gguf !== undefined ? GGUF_ARCHITECTURES[gguf] : undefined;
  const spec = metadata['modelspec.architecture'];
  const specGroup = spec !== undefined ? modelspecGroup(spec) : undefined;
  if (family) {
    if (gguf !== undefined && family.group !== 'component' && declared !== undefined && !sameGroup(family, declared)) {
      notes.push(`general.architecture says "${gguf}" but the keys are ${family.label}'s: read by its keys`);
    }
    if (specGroup !== undefined && family.group !== 'component' && !sameGroup(family, specGroup)) {
      notes.push(`modelspec.architecture says "${shorten(spec!)}" but the keys are ${family.label}'s: read by its keys`);
    }
    return { family, notes };
  }
  const byKey = UNSUPPORTED_FAMILIES.find((f) => (f.prefix ? e.dmPrefix(f.key) : e.dm(f.key)));
  if (byKey) return { family: null, unsupported: byKey.label, notes };
  if (declared !== undefined) return { family: null, unsupported: `${GROUP_NAMES[declared] ?? declared} (GGUF general.architecture "${gguf}")`, notes };
  return { family: null, notes };
}

/** The Stable Diffusion component prefixes (LDM/SGM single files), for key sets too small to tell their family. */
const SD_PREFIXES = ['model.diffusion_model.', 'cond_stage_model.', 'conditioner.embedders.', 'first_stage_model.'];
const SD_FALLBACK = ARCHITECTURES.find((a) => a.id === 'sd1')!;

/**
 * A key set that no row recognises but whose keys are mostly under the SD component prefixes (a few tensors of a
 * checkpoint, a pruned file) is read as SD 1.x, the family those prefixes were first used by, as before families had
 * rows of their own: its components are still named by prefix.
 */
function looksLikeStableDiffusion(keys: readonly string[]): boolean {
  let hits = 0;
  for (const k of keys) if (SD_PREFIXES.some((p) => k.startsWith(p))) hits++;
  return hits > 0 && hits * 2 >= keys.length;
}

const GROUP_NAMES: Record<string, string> = { sd1: 'SD 1.x', sdxl: 'SDXL', sd3: 'SD3', flux: 'FLUX' };

function sameGroup(family: ArchitectureRow, group: string): boolean {
  // city96's converter writes sd1 for the SD 1.x/2.x UNet
  return family.group === group || (group === 'sd1' && family.group === 'sd2');
}

/** kohya sd-scripts `library/sai_model_spec.py` architecture names -> family group. */
function modelspecGroup(spec: string): string | undefined {
  const s = spec.toLowerCase();
  if (s.startsWith('stable-diffusion-xl')) return 'sdxl';
  if (s.startsWith('stable-diffusion-v1')) return 'sd1';
  if (s.startsWith('stable-diffusion-v2')) return 'sd2';
  if (s.startsWith('stable-diffusion-3') || s.startsWith('stable-diffusion-v3')) return 'sd3';
  if (s.startsWith('flux')) return 'flux';
  return undefined;
}

function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/**
 * Describes a model from its canonical keys (after keys/canonical.ts) and the family found: the architecture line,
 * the file's role, the variants, the components it lacks. Works on scaled-down test models too: it uses ranks,
 * counts and relations, not absolute widths.
 */
export function describeArch(
  family: ArchitectureRow | null,
  detection: Pick<FamilyDetection, 'unsupported'>,
  keys: readonly string[],
  shapes: readonly (readonly number[])[],
  components: readonly string[],
  metadata: Readonly<Record<string, string>> = {},
): ArchInfo {
  if (!family) {
    const what = detection.unsupported ? `${GENERIC_LABEL} (${detection.unsupported}, which modeldiff does not break down)` : GENERIC_LABEL;
    return { arch: 'generic', detail: `${what}: components from leading key names`, role: 'unknown', variants: [], missing: [], components: {} };
  }
  const has = new Set(components);
  const shapeOf = new Map<string, readonly number[]>();
  keys.forEach((k, i) => shapeOf.set(k, shapes[i]!));
  const present = family.components.filter((c) => has.has(c.id));
  const byPart = (part: string) => present.some((c) => c.part === part);
  const role: FileRole = family.group === 'component'
    ? (family.components[0]!.part === 'vae' ? 'vae' : 'text_encoder')
    : byPart('diffusion_model')
      ? byPart('text_encoder') || byPart('vae') ? 'checkpoint' : 'diffusion_model'
      : byPart('text_encoder') && !byPart('vae') ? 'text_encoder' : byPart('vae') && !byPart('text_encoder') ? 'vae' : 'checkpoint';

  const extras: string[] = [];
  const inConv = shapeOf.get(DIFFUSION_PREFIX + 'input_blocks.0.0.weight');
  if (inConv && inConv.length === 4) {
    if (inConv[1] === 9) extras.push('inpainting UNet');
    else if (inConv[1] === 8) extras.push('instruct-pix2pix UNet');
    else if (inConv[1] !== 4) extras.push(`UNet with ${inConv[1]} input channels`);
  }
  const variants = familyVariants(family, new Set(keys), keys, metadata);
  extras.push(...variants);
  if (family.mergeBlocks === 'sd3') extras.push(`${maxIndex(keys, DIFFUSION_PREFIX + 'joint_blocks.') + 1} joint blocks`);
  if (role !== 'checkpoint' && family.group !== 'component') extras.push(role === 'diffusion_model' ? 'diffusion model only' : role === 'vae' ? 'VAE only' : 'text encoder only');
  // a part of a model is not missing the rest: only a full checkpoint lacks expected components
  const missing = role === 'checkpoint' ? family.components.filter((c) => c.expected && !has.has(c.id)) : [];
  for (const c of missing) extras.push(`no ${c.name}`);
  const emaShadows = keys.filter((k) => k.startsWith('model_ema.') && k !== 'model_ema.decay' && k !== 'model_ema.num_updates').length;
  if (emaShadows > 0) extras.push(`EMA copy (${emaShadows} tensors)`);
  return {
    arch: family.id,
    detail: extras.length ? `${family.label} (${extras.join(', ')})` : family.label,
    role,
    variants,
    missing: missing.map((c) => c.id),
    components: Object.fromEntries(present.map((c) => [c.id, { name: c.name, kind: c.kind }])),
  };
}

/**
 * SDXL (and SD 2.x) variants from the markers ComfyUI and the trainers leave (ComfyUI `comfy/supported_models.py`:
 * `v_pred`, `ztsnr`, `edm_vpred.*`, Playground v2.5's `edm_mean`/`edm_std`) and kohya's `modelspec.prediction_type`.
 */
function familyVariants(family: ArchitectureRow, keys: ReadonlySet<string>, list: readonly string[], metadata: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  if (family.group === 'sdxl' || family.group === 'sd2' || family.group === 'sd1') {
    if (keys.has('edm_mean') && keys.has('edm_std')) out.push('EDM, Playground v2.5');
    if (list.some((k) => k.startsWith('edm_vpred.'))) out.push('EDM v-prediction');
    else if (keys.has('v_pred') || /^v(_prediction)?$/i.test(metadata['modelspec.prediction_type'] ?? '')) out.push('v-prediction');
    if (keys.has('ztsnr')) out.push('zero terminal SNR');
  }
  return out;
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
