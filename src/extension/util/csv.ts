/** The CSV of an exported report: one row per pair and component. Pure. */
import type { CompareResult } from '../../shared/result';

/**
 * One CSV field. File names come from the user's disk and are untrusted: a leading = + - @ (or tab/CR) would be
 * run as a formula by spreadsheet programs, so such text fields get a leading apostrophe.
 */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const PAIRS_CSV_COLUMNS = [
  'model_a', 'model_b', 'component', 'status', 'l2', 'cosine', 'identical', 'equal_values',
  'shared', 'only_a', 'only_b', 'mismatched', 'dtype_diff', 'changed', 'non_finite', 'bytes_only',
] as const;

export function pairsCsv(result: CompareResult): string {
  const rows = [PAIRS_CSV_COLUMNS.join(',')];
  for (const p of result.pairs) {
    const a = result.models[p.a]?.file ?? String(p.a);
    const b = result.models[p.b]?.file ?? String(p.b);
    for (const c of result.components) {
      const d = p.components[c];
      if (!d) continue;
      rows.push(
        [a, b, c, d.status, d.l2, d.cosine, d.identical, d.equal_values, d.shared, d.only_a, d.only_b, d.mismatched, d.dtype_diff, d.changed, d.non_finite, d.bytes_only ?? 0]
          .map(csvField)
          .join(','),
      );
    }
  }
  return rows.join('\r\n') + '\r\n';
}
