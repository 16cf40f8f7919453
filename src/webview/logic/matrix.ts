/** Distance matrices per component from a CompareResult; each cell classified by src/shared/distanceCell.ts. Pure: no DOM. */
import { pairIndex } from '../../shared/result';
import type { CompareResult, ComponentDiff, ComponentStatus, PairResult } from '../../shared/result';
import { CELL_WORD, cellMark as markOf, classifyDiff, type CellKind } from '../../shared/distanceCell';
import type { Metric } from './types';


export interface MatrixCell {
  /** row model */
  a: number;
  /** column model */
  b: number;
  kind: CellKind;
  /** the metric's value as reported (L2 distance or cosine similarity); null when there is none */
  value: number | null;
  /** distance used for colour, graph edge length and thresholds (L2, or 1 - cosine); null when not drawable */
  distance: number | null;
  status: ComponentStatus | 'self' | 'missing';
  diff: ComponentDiff | null;
}

export interface DistanceMatrix {
  component: string;
  metric: Metric;
  n: number;
  /** cells[a][b], symmetric */
  cells: MatrixCell[][];
  /** extent of `distance` over `value` cells (null when there are none) */
  min: number | null;
  max: number | null;
}

/** Looks a pair up by (a, b) in either order; checks pairIndex's guess and falls back to a scan. */
export function findPair(result: CompareResult, a: number, b: number): PairResult | undefined {
  if (a === b) return undefined;
  const n = result.models.length;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const guess = result.pairs[pairIndex(lo, hi, n)];
  if (guess && guess.a === lo && guess.b === hi) return guess;
  return result.pairs.find((p) => (p.a === lo && p.b === hi) || (p.a === hi && p.b === lo));
}

export function buildMatrix(result: CompareResult, component: string, metric: Metric): DistanceMatrix {
  const n = result.models.length;
  const cells: MatrixCell[][] = [];
  for (let a = 0; a < n; a++) cells.push(new Array<MatrixCell>(n));
  let min: number | null = null;
  let max: number | null = null;
  for (let a = 0; a < n; a++) {
    const row = cells[a]!;
    row[a] = { a, b: a, kind: 'self', value: null, distance: 0, status: 'self', diff: null };
    for (let b = a + 1; b < n; b++) {
      const pair = findPair(result, a, b);
      const diff = pair?.components[component] ?? null;
      const c = classifyDiff(diff, metric);
      const status = diff ? diff.status : 'missing';
      row[b] = { a, b, kind: c.kind, value: c.value, distance: c.distance, status, diff };
      cells[b]![a] = { a: b, b: a, kind: c.kind, value: c.value, distance: c.distance, status: mirrorStatus(status), diff };
      if (c.kind === 'value' && c.distance !== null) {
        min = min === null ? c.distance : Math.min(min, c.distance);
        max = max === null ? c.distance : Math.max(max, c.distance);
      }
    }
  }
  return { component, metric, n, cells, min, max };
}

/** Seen from the other side, "only in A" is "only in B". */
function mirrorStatus(s: ComponentStatus | 'missing'): ComponentStatus | 'missing' {
  return s === 'only_in_a' ? 'only_in_b' : s === 'only_in_b' ? 'only_in_a' : s;
}

/** Short mark drawn in a cell (src/shared/distanceCell.ts). */
export function cellMark(cell: MatrixCell, valueText: (v: number) => string): string {
  return markOf(cell.kind, cell.value, valueText);
}

export const STATUS_TEXT: Record<ComponentStatus | 'self' | 'missing', string> = {
  identical: 'identical (bit for bit)',
  equal_values: 'equal values (bytes, dtypes or key sets differ)',
  same_delta: 'same delta (LoRA weight changes equal to float rounding)',
  changed: 'changed',
  only_in_a: 'only in A',
  only_in_b: 'only in B',
  not_comparable: 'not comparable (no shared key of equal shape)',
  self: 'same model',
  missing: 'absent from both models',
};

/** Components present in the result, in its display order, with those that have any comparable pair first kept. */
export function componentsOf(result: CompareResult): string[] {
  if (result.components.length) return [...result.components];
  const set = new Set<string>();
  for (const p of result.pairs) for (const c of Object.keys(p.components)) set.add(c);
  return [...set];
}

/** Components that are bit-identical between a and b. */
export function identicalComponents(result: CompareResult, a: number, b: number): string[] {
  const pair = findPair(result, a, b);
  if (!pair) return [];
  return componentsOf(result).filter((c) => {
    const d = pair.components[c];
    return !!d && (d.status === 'identical' || d.identical);
  });
}

/** The matrix as CSV-ready rows: a header of model labels, then one row per model; words for the special cells. */
export function matrixTable(m: DistanceMatrix, labels: string[]): { header: string[]; rows: (string | number | null)[][] } {
  const header = ['model', ...labels];
  const rows = m.cells.map((row, a) => [labels[a] ?? String(a), ...row.map((c) => (c.kind === 'value' ? c.value : CELL_WORD[c.kind]))]);
  return { header, rows };
}
