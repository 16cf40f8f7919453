/** The one CSV writer of every export (CLI, extension, panel): RFC 4180 quoting, CRLF lines, the formula guard. Pure. */

export type CsvValue = string | number | boolean | null | undefined;

/**
 * One field. Strings that a spreadsheet would run as a formula (=, +, -, @, tab, CR at the start) get a leading
 * apostrophe: tensor names and metadata come from untrusted files. Numbers are written exactly (round-trip repr).
 */
export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}
