/** The CSV of an exported report: one row per pair and component. Pure. */
import { toCsv } from '../../shared/csv';
import { modelLabel, type CompareResult } from '../../shared/result';

export const PAIRS_CSV_COLUMNS = [
  'model_a', 'model_b', 'component', 'status', 'l2', 'cosine', 'identical', 'equal_values',
  'shared', 'only_a', 'only_b', 'mismatched', 'dtype_diff', 'changed', 'non_finite', 'bytes_only',
] as const;

export function pairsCsv(result: CompareResult): string {
  const rows: (string | number | boolean | null)[][] = [];
  for (const p of result.pairs) {
    const a = result.models[p.a] ? modelLabel(result.models[p.a]!) : String(p.a);
    const b = result.models[p.b] ? modelLabel(result.models[p.b]!) : String(p.b);
    for (const c of result.components) {
      const d = p.components[c];
      if (!d) continue;
      rows.push([a, b, c, d.status, d.l2, d.cosine, d.identical, d.equal_values, d.shared, d.only_a, d.only_b, d.mismatched, d.dtype_diff, d.changed, d.non_finite, d.bytes_only ?? 0]);
    }
  }
  return toCsv(PAIRS_CSV_COLUMNS, rows);
}
