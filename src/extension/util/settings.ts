/** The modeldiff.compare.* and modeldiff.analysis.* settings, checked and turned into engine options. Pure. */
import type { TimeEmbedPlacement } from '../../shared/analysis';
import { DEFAULT_MEMORY_BUDGET_MIB, SD_COMPONENTS } from '../../shared/result';

export interface CompareSettings {
  metric: 'l2' | 'cosine';
  /** undefined = the engine's default (one per core, at most 4); never 0, which would compute on the host thread */
  workers: number | undefined;
  memoryBudgetMiB: number;
  /** null = every component */
  components: string[] | null;
  includeEma: boolean;
}

export const MAX_WORKERS = 64;

/** `get(key)` reads one raw value of the modeldiff.compare section (whatever the user wrote). */
export function readCompareSettings(get: (key: string) => unknown): CompareSettings {
  const metric = get('metric') === 'cosine' ? 'cosine' : 'l2';
  const w = get('workers');
  const workers = typeof w === 'number' && Number.isFinite(w) && w >= 1 ? Math.min(MAX_WORKERS, Math.floor(w)) : undefined;
  const m = get('memoryBudgetMiB');
  const memoryBudgetMiB = typeof m === 'number' && Number.isFinite(m) && m >= 16 ? Math.floor(m) : DEFAULT_MEMORY_BUDGET_MIB;
  const c = get('components');
  const known = new Set<string>(SD_COMPONENTS);
  const list = Array.isArray(c) ? [...new Set(c.filter((x): x is string => typeof x === 'string' && known.has(x)))] : [];
  const e = get('includeEma');
  return { metric, workers, memoryBudgetMiB, components: list.length ? list : null, includeEma: e !== false };
}

/** modeldiff.compare.extractWeights: admit the inert objects of extract-weights mode (src/compute/readers/pytorch/extractWeights.ts); only an explicit true. */
export function readExtractWeights(get: (key: string) => unknown): boolean {
  return get('extractWeights') === true;
}

export interface AnalysisSettings {
  /** where the UNet's time embedding counts in merge-block breakdowns and recipes */
  timeEmbed: TimeEmbedPlacement;
  /** hash every model file (full reads) after each comparison */
  computeHashes: boolean;
}

/** `get(key)` reads one raw value of the modeldiff.analysis section. */
export function readAnalysisSettings(get: (key: string) => unknown): AnalysisSettings {
  return { timeEmbed: get('timeEmbed') === 'IN00' ? 'IN00' : 'BASE', computeHashes: get('computeHashes') === true };
}
