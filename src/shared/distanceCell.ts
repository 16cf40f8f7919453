/**
 * What a cell of a distance matrix is, and how it is marked: one rule for the panel's heatmap and table
 * (src/webview/logic/matrix.ts), the HTML report (the same panel) and the SVG figures (src/views/charts/distance.ts).
 *
 * - `self`      the diagonal;
 * - `identical` bit-identical component: its own mark "=", never a plain 0;
 * - `equal`     all values equal but bytes, dtypes or key sets differ ("=v");
 * - `same`      LoRA deltas equal to float rounding, whatever their factors' bytes ("≈");
 * - `value`     a finite distance;
 * - `na`        present in both models but not comparable (no shared key of equal shape, or no finite value): "n/a";
 * - `absent`    the component is missing from one or both models: "–".
 */
import type { CompareResult, ComponentDiff } from './result';

/** The two distances of result.json: L2, and cosine similarity. */
export type DistanceMetric = 'l2' | 'cosine';

export type CellKind = 'self' | 'identical' | 'equal' | 'same' | 'value' | 'na' | 'absent';

/** Turns a metric value into a distance (0 = same): L2 as is, cosine similarity as 1 - cos. */
export function toDistance(metric: DistanceMetric, value: number): number {
  return metric === 'l2' ? value : 1 - value;
}

/** The cell of a pair's component (undefined/null: the component is in neither model's pair entry). */
export function classifyDiff(
  diff: ComponentDiff | null | undefined,
  metric: DistanceMetric,
): { kind: Exclude<CellKind, 'self'>; value: number | null; distance: number | null } {
  if (!diff) return { kind: 'absent', value: null, distance: null };
  const raw = diff[metric];
  const value = typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
  switch (diff.status) {
    case 'identical':
      return { kind: 'identical', value, distance: 0 };
    case 'equal_values':
      return { kind: 'equal', value, distance: 0 };
    case 'same_delta':
      return { kind: 'same', value, distance: value === null ? 0 : toDistance(metric, value) };
    case 'only_in_a':
    case 'only_in_b':
      return { kind: 'absent', value: null, distance: null };
    case 'not_comparable':
      return { kind: 'na', value: null, distance: null };
    default:
      if (diff.identical) return { kind: 'identical', value, distance: 0 };
      if (value === null) return { kind: 'na', value: null, distance: null };
      return { kind: 'value', value, distance: toDistance(metric, value) };
  }
}

/** The short mark drawn in a cell. Identical is "=", never "0"; not comparable "n/a"; absent "–". */
export function cellMark(kind: CellKind, value: number | null, valueText: (v: number) => string): string {
  switch (kind) {
    case 'self':
      return '·';
    case 'identical':
      return '=';
    case 'equal':
      return '=v';
    case 'same':
      return '≈';
    case 'na':
      return 'n/a';
    case 'absent':
      return '–';
    case 'value':
      return value === null ? 'n/a' : valueText(value);
  }
}

/** The word a table or CSV gives a cell without a plain value ('' for self and plain values). */
export const CELL_WORD: Readonly<Record<CellKind, string>> = {
  self: '',
  identical: 'identical',
  equal: 'equal_values',
  same: 'same_delta',
  value: '',
  na: 'n/a',
  absent: 'absent',
};

/** What the marks mean, for a figure's legend. */
export const CELL_LEGEND = '"=" identical, "=v" equal values, "≈" same LoRA delta (to float rounding), "n/a" not comparable, "–" absent';

/**
 * The distances a component's matrix draws, as a condensed upper triangle for src/shared/clustering.ts: identical and
 * equal values at 0, plain values as drawn (L2, or 1 - cosine), NaN where a cell has none (not comparable, absent).
 */
export function componentDistances(result: CompareResult, component: string, metric: DistanceMetric): Float64Array {
  const n = result.models.length;
  const out = new Float64Array((n * (n - 1)) / 2).fill(NaN);
  for (const p of result.pairs) {
    if (p.a === p.b) continue;
    const c = classifyDiff(p.components[component], metric);
    if (c.distance === null || !Number.isFinite(c.distance)) continue;
    const [i, j] = p.a < p.b ? [p.a, p.b] : [p.b, p.a];
    out[i * n - (i * (i + 1)) / 2 + (j - i - 1)] = c.distance;
  }
  return out;
}
