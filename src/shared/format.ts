/**
 * Numbers as people read them, one formatter per kind of number, for every surface (CLI, tree view, panel, report,
 * SVG figures). A missing value is never shown as 0.
 */

/** Distances and other measured values: `digits` significant digits, an exponent below 1e-3 and from 1e6; "n/a" when none. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e');
  const s = v.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** The exact value as JavaScript round-trips it (the shortest text that parses back to the same double). */
export function fullPrecision(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** Whole numbers with thousands separators: "1,234,567". */
export function formatInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = String(Math.trunc(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? '-' + digits : digits;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Sizes in binary units, three significant digits: "512 B", "1.50 KiB", "12.3 MiB", "859 GiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return 'n/a';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${BYTE_UNITS[i]}`;
}

/** Parameter and tensor counts: "999", "12.3K", "859.5M", "1.23B". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  const trim = (s: string) => s.replace(/\.0+$/, '');
  if (abs >= 1e9) return `${trim((n / 1e9).toFixed(2))}B`;
  if (abs >= 1e6) return `${trim((n / 1e6).toFixed(1))}M`;
  if (abs >= 1e3) return `${trim((n / 1e3).toFixed(1))}K`;
  return String(n);
}

/** Durations and ETAs: "4.2s", "42s", "1m 05s", "1h 02m"; "" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A share in [0, 1] as "12.3 %"; "n/a" when none. */
export function percent(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(digits)} %`;
}

/** Significant digits of a distance in a table or tooltip: layers.bin holds float32 values (about 7 digits). */
export const DISTANCE_DIGITS = 6;

/** L2 and other distances in tables and tooltips: six significant digits ("12.3457", "1.23457e-5"); "n/a" when none. */
export function formatDistance(v: number | null | undefined): string {
  return formatNumber(v, DISTANCE_DIGITS);
}

/**
 * Cosine similarities: near 1 what tells models apart is 1 − cos, so as many decimals as show it to three significant
 * digits (0.9999987), at least four, at most nine (float32 precision); exactly 1 is "1"; "n/a" when none.
 */
export function formatCosine(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return String(v);
  if (v === 1) return '1';
  const gap = Math.abs(1 - v);
  const decimals = Math.min(9, Math.max(4, gap > 0 ? 2 - Math.floor(Math.log10(gap)) : 4));
  const s = v.toFixed(decimals).replace(/\.?0+$/, '');
  // rounding must not turn a similarity below 1 into "1"
  return s === '1' && v < 1 ? `${'0.' + '9'.repeat(9)}…` : s;
}

/** A value of a metric of result.json as people read it: L2 as a distance, cosine as a similarity. */
export function formatMetric(metric: 'l2' | 'cosine', v: number | null | undefined): string {
  return metric === 'cosine' ? formatCosine(v) : formatDistance(v);
}
