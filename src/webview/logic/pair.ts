/** Rows for a pair's component summary, its differences lists, and the per-layer table. Pure. */
import { NOT_COMPARABLE_REASON_LABEL, type CompareResult, type ComponentDiff, type PairResult } from '../../shared/result';
import type { LayerRowMessage } from '../../shared/protocol';
import { componentsOf } from './matrix';
import { classifyDiff } from '../../shared/distanceCell';
import type { CsvValue } from '../../shared/csv';

export interface SummaryRow {
  component: string;
  status: string;
  /** why a not-comparable component was not compared ("different architectures") */
  reason?: string;
  l2: number | null;
  cosine: number | null;
  shared: number;
  changed: number;
  only_a: number;
  only_b: number;
  mismatched: number;
  dtype_diff: number;
  non_finite: number;
}

export function summaryRows(result: CompareResult, pair: PairResult): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const c of componentsOf(result)) {
    const d: ComponentDiff | undefined = pair.components[c];
    if (!d) continue;
    out.push({
      component: c,
      status: d.status,
      ...(d.reason ? { reason: NOT_COMPARABLE_REASON_LABEL[d.reason] ?? d.reason } : {}),
      l2: d.l2,
      cosine: d.cosine,
      shared: d.shared,
      changed: d.changed,
      only_a: d.only_a,
      only_b: d.only_b,
      mismatched: d.mismatched,
      dtype_diff: d.dtype_diff,
      non_finite: d.non_finite,
    });
  }
  return out;
}

export const SUMMARY_COLUMNS: (keyof SummaryRow)[] = [
  'component',
  'status',
  'l2',
  'cosine',
  'shared',
  'changed',
  'only_a',
  'only_b',
  'mismatched',
  'dtype_diff',
  'non_finite',
];

export function summaryCsvRows(rows: SummaryRow[]): CsvValue[][] {
  return rows.map((r) => SUMMARY_COLUMNS.map((k) => r[k]));
}

/** The differences of a pair as flat rows: kind, key, A, B. */
export function differenceRows(pair: PairResult): { kind: string; key: string; a: string; b: string }[] {
  const d = pair.differences;
  return [
    ...d.only_a.map((key) => ({ kind: 'only in A', key, a: 'present', b: '' })),
    ...d.only_b.map((key) => ({ kind: 'only in B', key, a: '', b: 'present' })),
    ...d.mismatched.map((k) => ({ kind: 'shape', key: k.key, a: k.a ?? '', b: k.b ?? '' })),
    ...d.dtype.map((k) => ({ kind: 'dtype', key: k.key, a: k.a ?? '', b: k.b ?? '' })),
  ];
}

export const LAYER_COLUMNS = ['key', 'component', 'l2', 'cosine'] as const;

export function layerCsvRows(rows: readonly LayerRowMessage[]): CsvValue[][] {
  return rows.map((r) => [r.key, r.component, r.l2, r.cosine]);
}

/** Per-component L2 values of a pair's layers, in component display order. */
export function layersByComponent(rows: readonly LayerRowMessage[], order: readonly string[]): Map<string, (number | null)[]> {
  const m = new Map<string, (number | null)[]>();
  for (const c of order) m.set(c, []);
  for (const r of rows) {
    let list = m.get(r.component);
    if (!list) m.set(r.component, (list = []));
    list.push(r.l2);
  }
  for (const [k, v] of m) if (!v.length) m.delete(k);
  return m;
}

/** The notebook's plotline: the metric from a reference model to every model (itself: 0 for L2, 1 for cosine). */
export function distancesFrom(
  cells: readonly { kind: string; value: number | null }[],
  metric: 'l2' | 'cosine',
): (number | null)[] {
  return cells.map((c) => {
    if (c.kind === 'self') return metric === 'l2' ? 0 : 1;
    if (c.kind === 'identical' || c.kind === 'equal' || c.kind === 'same') return c.value ?? (metric === 'l2' ? 0 : 1);
    if (c.kind === 'value') return c.value;
    return null;
  });
}

/**
 * The pair a panel opens on: the nearest pair whose `component` differs (changed, with a distance), so the first
 * per-layer table shows something; failing that, the first pair that is not bit-identical in every component.
 */
export function nearestDifferingPair(result: CompareResult, component: string, metric: 'l2' | 'cosine'): { a: number; b: number } | null {
  let best: { a: number; b: number } | null = null;
  let bestD = Infinity;
  for (const p of result.pairs) {
    const c = classifyDiff(p.components[component], metric);
    if (c.kind !== 'value' || c.distance === null) continue;
    if (c.distance < bestD || (c.distance === bestD && best && (p.a < best.a || (p.a === best.a && p.b < best.b)))) {
      bestD = c.distance;
      best = { a: p.a, b: p.b };
    }
  }
  if (best) return best;
  const differing = result.pairs.find((p) => Object.values(p.components).some((d) => d.status !== 'identical'));
  return differing ? { a: differing.a, b: differing.b } : null;
}
