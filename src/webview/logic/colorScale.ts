/**
 * How a distance maps onto the heatmap's colour ramp: linear, logarithmic or by rank. A linear ramp is what the
 * numbers say, but one outlier far from everything pushes every other cell into the first few colours; log spreads
 * the small distances out, rank spaces every distinct distance evenly (order only). Pure.
 */
export type ScaleKind = 'linear' | 'log' | 'rank';
export const SCALE_KINDS: readonly ScaleKind[] = ['linear', 'log', 'rank'];
export const SCALE_LABEL: Readonly<Record<ScaleKind, string>> = { linear: 'Linear', log: 'Log', rank: 'Rank' };

export interface DistanceScale {
  kind: ScaleKind;
  /** smallest and largest distance on the scale (the smallest positive one for log) */
  min: number | null;
  max: number | null;
  /** position of a distance on the ramp, in [0, 1] */
  position(d: number): number;
}

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

/**
 * The scale of a kind over the distances drawn. Log needs a positive distance: a 0 sits at the low end, and with no
 * positive distance at all the scale is linear. Rank gives equal distances equal colours.
 */
export function makeScale(kind: ScaleKind, distances: readonly number[]): DistanceScale {
  const finite = distances.filter((d) => Number.isFinite(d));
  let min: number | null = null;
  let max: number | null = null;
  for (const d of finite) {
    if (min === null || d < min) min = d;
    if (max === null || d > max) max = d;
  }
  if (kind === 'log') {
    let lo: number | null = null;
    for (const d of finite) if (d > 0 && (lo === null || d < lo)) lo = d;
    if (lo !== null && max !== null && max > 0) {
      const a = Math.log(lo);
      const span = Math.log(max) - a;
      return { kind, min: lo, max, position: (d) => (!(d > 0) ? 0 : span > 0 ? clamp01((Math.log(d) - a) / span) : 0.5) };
    }
    kind = 'linear';
  }
  if (kind === 'rank') {
    const sorted = [...new Set(finite)].sort((x, y) => x - y);
    const last = sorted.length - 1;
    return {
      kind,
      min,
      max,
      position: (d) => {
        if (last <= 0) return 0.5;
        // index of the largest value <= d
        let lo = 0;
        let hi = last;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (sorted[mid]! <= d) lo = mid;
          else hi = mid - 1;
        }
        return lo / last;
      },
    };
  }
  const lo = min ?? 0;
  const span = (max ?? 0) - lo;
  return { kind: 'linear', min, max, position: (d) => (!Number.isFinite(d) ? 1 : span > 0 ? clamp01((d - lo) / span) : 0.5) };
}

/**
 * True when a linear scale would wash out: the median distance sits in the lowest tenth of the range, i.e. a few far
 * values leave most cells in the first colours.
 */
export function washedOut(distances: readonly number[]): boolean {
  const finite = distances.filter((d) => Number.isFinite(d)).sort((x, y) => x - y);
  if (finite.length < 6) return false;
  const min = finite[0]!;
  const max = finite[finite.length - 1]!;
  const median = finite[Math.floor(finite.length / 2)]!;
  return max > min && median - min < 0.1 * (max - min);
}

/** The scale a matrix opens with: linear, unless it would wash out (then log, or rank without positive distances). */
export function defaultScale(distances: readonly number[]): ScaleKind {
  if (!washedOut(distances)) return 'linear';
  return distances.some((d) => d > 0) ? 'log' : 'rank';
}
