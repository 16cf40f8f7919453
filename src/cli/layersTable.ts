import type { LayerRow } from '../compute';
import { formatNumber } from './format';

export function layersTable(rows: LayerRow[], a: string, b: string): string {
  const w = Math.min(90, Math.max(3, ...rows.map((r) => r.key.length)));
  const lines = [`${a}  vs  ${b}`, `${'key'.padEnd(w)}  ${'component'.padEnd(9)}  ${'L2'.padStart(12)}  ${'cosine'.padStart(12)}`];
  for (const r of rows) {
    const key = r.key.length > w ? '…' + r.key.slice(r.key.length - w + 1) : r.key.padEnd(w);
    lines.push(`${key}  ${r.component.padEnd(9)}  ${formatNumber(r.l2).padStart(12)}  ${(r.cosine === null ? '—' : r.cosine.toFixed(8)).padStart(12)}`);
  }
  return lines.join('\n');
}

/** One RFC 4180 field. */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV; empty cells where there is no value. */
export function layersCsv(rows: LayerRow[]): string {
  const esc = csvField;
  const out = ['key,component,l2,cosine'];
  for (const r of rows) out.push([esc(r.key), esc(r.component), r.l2 === null ? '' : String(r.l2), r.cosine === null ? '' : String(r.cosine)].join(','));
  return out.join('\n') + '\n';
}
