/**
 * Histogram binning for the per-layer distance plots (the notebook drew `hist(v, bins=len(v))` with a log y axis).
 * Pure.
 */

export interface Histogram {
  /** bins + 1 edges, ascending */
  edges: number[];
  counts: number[];
  /** values used */
  n: number;
  /** null / NaN / infinite values left out */
  excluded: number;
  min: number | null;
  max: number | null;
}

export const MAX_BINS = 120;

/** Bin count: one per value like the notebook, capped for legibility. */
export function defaultBins(n: number): number {
  return Math.max(1, Math.min(n, MAX_BINS));
}

export function binValues(values: readonly (number | null | undefined)[], bins?: number): Histogram {
  const finite: number[] = [];
  let excluded = 0;
  for (const v of values) {
    if (typeof v === 'number' && Number.isFinite(v)) finite.push(v);
    else excluded++;
  }
  const n = finite.length;
  if (!n) return { edges: [], counts: [], n: 0, excluded, min: null, max: null };
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) {
    // every value equal: one bin around it
    return { edges: [min, max], counts: [n], n, excluded, min, max };
  }
  const k = Math.max(1, Math.floor(bins ?? defaultBins(n)));
  const width = (max - min) / k;
  const counts = new Array<number>(k).fill(0);
  for (const v of finite) {
    const i = Math.min(k - 1, Math.floor((v - min) / width));
    counts[i]!++;
  }
  const edges = Array.from({ length: k + 1 }, (_, i) => (i === k ? max : min + i * width));
  return { edges, counts, n, excluded, min, max };
}

/** Counts for a log-scale axis: empty bins become null (log(0) has no bar). */
export function logCounts(h: Histogram): (number | null)[] {
  return h.counts.map((c) => (c > 0 ? c : null));
}
