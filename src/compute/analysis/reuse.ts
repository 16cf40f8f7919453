/** Whether a stored analysis.json can be shown for a result instead of analysing again. Pure. */
import type { AnalysisFile, TimeEmbedPlacement } from '../../shared/analysis';
import type { CompareResult } from '../../shared/result';

export interface AnalysisWanted {
  timeEmbed: TimeEmbedPlacement;
  computeHashes: boolean;
}

/** Every model has its file and component hashes, or the reason it has none (e.g. a diffusers folder). */
export function hasEveryHash(a: AnalysisFile, result: CompareResult): boolean {
  const byPath = new Map((a.hashes ?? []).map((h) => [h.path, h]));
  return result.models.every((m) => {
    const h = byPath.get(m.path);
    return !!h && (h.error !== undefined || (h.hashes !== null && h.components !== null));
  });
}

/** Same result (its createdAt), same time_embed placement, and the hashes when they are wanted. */
export function canReuse(a: AnalysisFile, result: CompareResult, want: AnalysisWanted): boolean {
  if (a.resultCreatedAt !== result.createdAt || a.timeEmbed !== want.timeEmbed) return false;
  return !want.computeHashes || hasEveryHash(a, result);
}
