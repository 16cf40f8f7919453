/** Number, size and text formatting for the webview. Pure: no DOM. */
import { chartNumber, safeText } from '../../views/charts/text';

/** A compact value for cell labels and axes (the chart builders' rule): 4 significant digits, exponent when tiny or huge. */
export const shortNumber = chartNumber;
/** Text from a model file made safe to show: control and bidi-override characters become U+FFFD. */
export const displayText = safeText;

/** The exact value as JavaScript round-trips it (shortest repr that parses back to the same double). */
export function fullPrecision(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'n/a';
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** "1,234,567" */
export function formatInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const neg = n < 0;
  const digits = String(Math.trunc(Math.abs(n)));
  const out = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return neg ? '-' + out : out;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return 'n/a';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[i]}`;
}

/** Parameter counts: "859.5M", "1.23B", "12.3K", "999". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  const trim = (s: string) => s.replace(/\.0+$/, '');
  if (abs >= 1e9) return `${trim((n / 1e9).toFixed(2))}B`;
  if (abs >= 1e6) return `${trim((n / 1e6).toFixed(1))}M`;
  if (abs >= 1e3) return `${trim((n / 1e3).toFixed(1))}K`;
  return String(n);
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** "bf16: 12, f32: 3", largest first. */
export function formatDtypes(dtypes: Record<string, number>): string {
  return Object.entries(dtypes)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}


/** Shortens a label in the middle: "very_long_mod…v3.safetensors". */
export function truncateMiddle(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  if (max <= 1) return '…';
  const head = Math.ceil((max - 1) / 2);
  const tail = Math.floor((max - 1) / 2);
  return chars.slice(0, head).join('') + '…' + (tail > 0 ? chars.slice(chars.length - tail).join('') : '');
}

/** "#2 model.safetensors" */
export function modelLabel(index: number, file: string, max = 0): string {
  const name = displayText(file);
  return `#${index} ${max > 0 ? truncateMiddle(name, max) : name}`;
}

/** A file-name-safe fragment: "unet-l2-#0-vs-#1" -> "unet-l2-0-vs-1". */
export function slug(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'export'
  );
}
