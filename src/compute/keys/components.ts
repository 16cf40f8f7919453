import { SD_COMPONENTS, type Arch } from '../../shared/result';
import { architecture, ARCHITECTURES } from './architectures';

/** The component of a canonical key in a family, by the family's prefixes (undefined: none of them). */
export function familyComponentOf(arch: Arch, key: string): string | undefined {
  let best: { prefix: string; id: string } | undefined;
  for (const c of architecture(arch)?.components ?? []) if (key.startsWith(c.prefix) && (!best || c.prefix.length > best.prefix.length)) best = c;
  return best?.id;
}

/**
 * Components of a model of no known family (an LLM, a LoRA, an unsupported architecture...): the leading name
 * segment, or the two leading segments when every key shares the first one (`model.layers`, `model.embed_tokens`).
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

/** Display order: the families' components first, in their fixed order, then the rest alphabetically. */
export function sortComponents(components: Iterable<string>): string[] {
  const set = new Set(components);
  const sd = SD_COMPONENTS.filter((c) => set.has(c));
  const rest = [...set].filter((c) => !(SD_COMPONENTS as readonly string[]).includes(c)).sort();
  return [...sd, ...rest];
}

/** Every component id a Stable Diffusion family of the architecture table can have, in display order (what
 *  `--components` accepts). Other models' components are named after their keys. */
export const KNOWN_COMPONENTS: readonly string[] = sortComponents([...SD_COMPONENTS, ...ARCHITECTURES.flatMap((a) => a.components.map((c) => c.id))]);
