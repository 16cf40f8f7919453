/**
 * The per-pair lists of differing keys a report embeds. result.json keeps up to max(20, 2M / pairs) entries per list;
 * in a folder mixing architectures that is most of the report, so past a byte budget every list is cut to one common
 * length (marked `truncated`, as result.json marks its own cuts). Counts in the components are never touched.
 */
import type { CompareResult, PairDifferences } from '../../../shared/result';

export const DEFAULT_DIFFERENCES_BUDGET_MIB = 16;

const LISTS = ['only_a', 'only_b', 'mismatched', 'dtype'] as const;

function entryBytes(d: PairDifferences, list: (typeof LISTS)[number], i: number): number {
  const e = d[list][i]!;
  return typeof e === 'string' ? e.length + 3 : e.key.length + (e.a?.length ?? 0) + (e.b?.length ?? 0) + 20;
}

/** The longest common list length whose entries fit the budget (Infinity when everything fits). */
export function differencesCap(result: CompareResult, budgetBytes: number): number {
  // bytes[n] = bytes of the n-th entries (0-based) of every list of every pair
  const bytes: number[] = [];
  for (const p of result.pairs) {
    for (const list of LISTS) {
      p.differences[list].forEach((_, i) => (bytes[i] = (bytes[i] ?? 0) + entryBytes(p.differences, list, i)));
    }
  }
  let total = 0;
  for (let n = 0; n < bytes.length; n++) {
    total += bytes[n]!;
    if (total > budgetBytes) return n;
  }
  return Infinity;
}

/** A copy of the result whose difference lists hold at most `cap` entries each (the same object when none is longer). */
export function capDifferences(result: CompareResult, cap: number): CompareResult {
  if (!Number.isFinite(cap)) return result;
  return {
    ...result,
    pairs: result.pairs.map((p) => {
      const d = p.differences;
      if (LISTS.every((l) => d[l].length <= cap)) return p;
      return {
        ...p,
        differences: { only_a: d.only_a.slice(0, cap), only_b: d.only_b.slice(0, cap), mismatched: d.mismatched.slice(0, cap), dtype: d.dtype.slice(0, cap), truncated: true },
      };
    }),
  };
}
