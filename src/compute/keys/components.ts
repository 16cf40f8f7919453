import { SD_COMPONENTS } from '../../shared/result';
import { ARCHITECTURES, COMPONENT_PREFIXES } from './architectures';

/**
 * The component of a canonical key by the prefixes of the architecture table, or undefined when it has none. The
 * refiner's OpenCLIP encoder is renamed to embedders.1 before this runs.
 */
export function sdComponentOf(key: string): string | undefined {
  for (const [prefix, component] of COMPONENT_PREFIXES) if (key.startsWith(prefix)) return component;
  return undefined;
}

export function looksLikeStableDiffusion(keys: readonly string[]): boolean {
  let hits = 0;
  for (const k of keys) if (sdComponentOf(k) !== undefined && !k.startsWith('model_ema.')) hits++;
  return hits > 0 && hits * 2 >= keys.length;
}

/**
 * Components of a model that is not Stable Diffusion (an LLM, a LoRA, a VAE alone...): the leading name segment,
 * or the two leading segments when every key shares the first one (`model.layers`, `model.embed_tokens`).
 */
export function genericComponents(keys: readonly string[]): string[] {
  const first = keys.map((k) => k.split('.')[0] ?? k);
  const allShareFirst = first.length > 0 && first.every((f) => f === first[0]);
  return keys.map((k, i) => {
    const parts = k.split('.');
    if (parts.length === 1) return 'other';
    if (allShareFirst && parts.length > 2) return `${parts[0]}.${parts[1]}`;
    return first[i]!;
  });
}

/** Display order: SD components first, in their fixed order, then the rest alphabetically. */
export function sortComponents(components: Iterable<string>): string[] {
  const set = new Set(components);
  const sd = SD_COMPONENTS.filter((c) => set.has(c));
  const rest = [...set].filter((c) => !(SD_COMPONENTS as readonly string[]).includes(c)).sort();
  return [...sd, ...rest];
}

/** Every component id a Stable Diffusion family of the architecture table can have, in display order (what
 *  `--components` accepts). Other models' components are named after their keys. */
export const KNOWN_COMPONENTS: readonly string[] = sortComponents([...SD_COMPONENTS, ...ARCHITECTURES.flatMap((a) => a.components.map((c) => c.id))]);
