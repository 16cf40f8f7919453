import { DIFFUSION_PREFIX, KNOWN_TOP_LEVEL, type ArchitectureRow } from './architectures';
import { detectFamily, keyEvidence, type FamilyDetection } from './arch';
import { genericComponents } from './components';

export interface CanonicalKeys {
  /** canonical name of each input key, same order */
  keys: string[];
  components: string[];
  /** what was renamed, for people */
  notes: string[];
  /** the family (or lone component) recognised; null: unknown architecture, components from leading key names */
  family: ArchitectureRow | null;
  /** what detection found besides the family: a declared architecture, an unsupported family's name */
  detection: FamilyDetection;
}

export interface KeyHints {
  /** the file's metadata: safetensors `__metadata__` (modelspec.*), GGUF key/values (general.architecture) */
  metadata?: Readonly<Record<string, string>>;
}

const NAI_PREFIX = 'cond_stage_model.transformer.';
const EMA_PREFIX = 'model_ema.';
const EMA_SCALARS = new Set(['model_ema.decay', 'model_ema.num_updates']);

/**
 * Normalises one model's key set so equal things compare, and assigns each key its component:
 * - NovelAI's text encoder `cond_stage_model.transformer.X` is `cond_stage_model.transformer.text_model.X`;
 * - LitEma shadow names lost their dots (`model_ema.diffusion_modelinput_blocks00weight`): restored from the
 *   model's own UNet keys to `model_ema.diffusion_model.input_blocks.0.0.weight`;
 * - the SDXL refiner keeps OpenCLIP bigG at `conditioner.embedders.0.model.`, which is the base's
 *   `conditioner.embedders.1.model.` (te1), so a base and a refiner share a comparable text encoder;
 * then recognises the family (keys/arch.ts) and reads the file as the family's all-in-one checkpoint would be:
 * - a bare file (a FLUX transformer as released, a GGUF diffusion model, a VAE or text encoder alone) has its keys
 *   read under the prefix of the component it holds (`model.diffusion_model.`, `first_stage_model.`...), so a bare
 *   transformer and the one inside an all-in-one checkpoint have equal keys;
 * - the family's aliases (a FLUX all-in-one's `vae.` is `first_stage_model.`).
 * Components come from the family's prefixes; a model of no known family gets components from its leading key names.
 */
export function canonicalizeKeys(names: readonly string[], shapes?: readonly (readonly number[])[], hints: KeyHints = {}): CanonicalKeys {
  const notes: string[] = [];
  let keys = names.slice();

  let nai = 0;
  keys = keys.map((k) => {
    if (k.startsWith(NAI_PREFIX) && !k.startsWith(NAI_PREFIX + 'text_model.')) {
      nai++;
      return NAI_PREFIX + 'text_model.' + k.slice(NAI_PREFIX.length);
    }
    return k;
  });
  if (nai > 0) notes.push(`NovelAI-style text encoder names (${nai} keys) read as cond_stage_model.transformer.text_model.*`);

  const hasBaseTe1 = keys.some((k) => k.startsWith('conditioner.embedders.1.'));
  const refinerTe = !hasBaseTe1 && keys.some((k) => k.startsWith('conditioner.embedders.0.model.'));
  if (refinerTe) {
    keys = keys.map((k) => (k.startsWith('conditioner.embedders.0.model.') ? 'conditioner.embedders.1.model.' + k.slice('conditioner.embedders.0.model.'.length) : k));
    notes.push('SDXL refiner text encoder (OpenCLIP bigG at conditioner.embedders.0) compared as te1');
  }

  keys = restoreEmaNames(keys, notes);

  const detection = detectFamily(keyEvidence(keys, shapes), hints.metadata ?? {}, keys);
  const family = detection.family;
  let components: string[];
  if (family) {
    keys = familyKeys(family, keys, notes);
    const prefixes = family.components.map((c) => [c.prefix, c.id] as const).sort((x, y) => y[0].length - x[0].length);
    components = keys.map((k) => prefixes.find(([p]) => k.startsWith(p))?.[1] ?? 'other');
  } else {
    components = genericComponents(keys);
  }
  notes.push(...detection.notes);

  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) duplicates.push(k);
    seen.add(k);
  }
  if (duplicates.length > 0) {
    notes.push(`${duplicates.length} stored names map to a key already present (first: "${duplicates[0]}"); only the first of each is compared`);
  }
  return { keys, components, notes, family, detection };
}

function restoreEmaNames(keys: string[], notes: string[]): string[] {
  const dotless = new Map<string, string>();
  for (const k of keys) if (k.startsWith(DIFFUSION_PREFIX)) dotless.set(('diffusion_model.' + k.slice(DIFFUSION_PREFIX.length)).replace(/\./g, ''), k.slice('model.'.length));
  let restored = 0;
  let unrestored = 0;
  const out = keys.map((k) => {
    if (!k.startsWith(EMA_PREFIX) || EMA_SCALARS.has(k)) return k;
    const rest = k.slice(EMA_PREFIX.length);
    if (rest.includes('.')) return k;
    const dotted = dotless.get(rest);
    if (dotted === undefined) {
      unrestored++;
      return k;
    }
    restored++;
    return EMA_PREFIX + dotted;
  });
  if (restored > 0) notes.push(`EMA copy of the UNet (${restored} tensors, stored without dots) matched to UNet key names`);
  if (unrestored > 0) notes.push(`${unrestored} EMA tensors could not be matched to a UNet key and keep their stored names`);
  return out;
}

/** The family's aliases, then a bare file's keys under the prefix of what it holds. */
function familyKeys(family: ArchitectureRow, keys: string[], notes: string[]): string[] {
  let out = keys;
  const has = (p: string) => out.some((k) => k.startsWith(p));
  for (const a of family.aliases ?? []) {
    if (!has(a.from) || has(a.to)) continue;
    let n = 0;
    out = out.map((k) => (k.startsWith(a.from) ? (n++, a.to + k.slice(a.from.length)) : k));
    notes.push(`${a.what} keys ${a.from}* (${n}) read as ${a.to}*`);
  }
  if (has(family.bare)) return out;
  const prefixes = family.components.map((c) => c.prefix);
  let n = 0;
  out = out.map((k) => {
    if (KNOWN_TOP_LEVEL.has(k) || prefixes.some((p) => k.startsWith(p))) return k;
    n++;
    return family.bare + k;
  });
  if (n > 0) {
    const what = family.components.find((c) => c.prefix === family.bare || family.bare.startsWith(c.prefix))?.name ?? 'component';
    notes.push(`${what} stored with bare keys: ${n} keys read as ${family.bare}*, as in all-in-one checkpoints`);
  }
  return out;
}
