import { genericComponents, looksLikeStableDiffusion, sdComponentOf } from './components';

export interface CanonicalKeys {
  /** canonical name of each input key, same order */
  keys: string[];
  components: string[];
  /** what was renamed, for people */
  notes: string[];
  isStableDiffusion: boolean;
}

const NAI_PREFIX = 'cond_stage_model.transformer.';
const EMA_PREFIX = 'model_ema.';
const UNET_PREFIX = 'model.diffusion_model.';
const EMA_SCALARS = new Set(['model_ema.decay', 'model_ema.num_updates']);

/**
 * Normalises the known aliases of one model's key set so equal things compare:
 * - NovelAI's text encoder `cond_stage_model.transformer.X` is `cond_stage_model.transformer.text_model.X`;
 * - LitEma shadow names lost their dots (`model_ema.diffusion_modelinput_blocks00weight`): restored from the
 *   model's own UNet keys to `model_ema.diffusion_model.input_blocks.0.0.weight`;
 * - the SDXL refiner keeps OpenCLIP bigG at `conditioner.embedders.0.model.`, which is the base's
 *   `conditioner.embedders.1.model.` (te1), so a base and a refiner share a comparable text encoder.
 */
export function canonicalizeKeys(names: readonly string[]): CanonicalKeys {
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

  const dotless = new Map<string, string>();
  for (const k of keys) if (k.startsWith(UNET_PREFIX)) dotless.set(('diffusion_model.' + k.slice(UNET_PREFIX.length)).replace(/\./g, ''), k.slice('model.'.length));
  let restored = 0;
  let unrestored = 0;
  keys = keys.map((k) => {
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

  const isStableDiffusion = looksLikeStableDiffusion(keys);
  const components = isStableDiffusion ? keys.map((k) => sdComponentOf(k) ?? 'other') : genericComponents(keys);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) duplicates.push(k);
    seen.add(k);
  }
  if (duplicates.length > 0) {
    notes.push(`${duplicates.length} stored names map to a key already present (first: "${duplicates[0]}"); only the first of each is compared`);
  }
  return { keys, components, notes, isStableDiffusion };
}
