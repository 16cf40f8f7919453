/** Number and progress formatting for the notification, the tree and the output channel. Pure. */

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressLike {
  phase: string;
  bytesDone: number;
  bytesTotal: number;
  etaSeconds: number | null;
  message?: string;
}

/** Whole percent done (0..100), or null before the byte total is known. */
export function percentOf(p: ProgressLike): number | null {
  if (!(p.bytesTotal > 0)) return p.phase === 'done' ? 100 : null;
  return Math.max(0, Math.min(100, Math.floor((100 * p.bytesDone) / p.bytesTotal)));
}

/** "42% · 1.20 GiB of 2.86 GiB". */
export function bytesText(percent: number, bytesDone: number, bytesTotal: number): string {
  return `${percent}% · ${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)}`;
}

/** "42% · 1.20 GiB of 2.86 GiB · ETA 1m 05s", or the phase while there are no bytes to count yet. */
export function progressText(p: ProgressLike): string {
  const pct = percentOf(p);
  if (pct === null || p.phase !== 'comparing') {
    return p.message ? `${p.phase}: ${p.message}` : p.phase;
  }
  const parts = [bytesText(pct, p.bytesDone, p.bytesTotal)];
  if (p.etaSeconds !== null && Number.isFinite(p.etaSeconds)) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join(' · ');
}

/**
 * vscode's Progress.report takes increments; this turns absolute percents into the increments it wants,
 * never going backwards.
 */
export class PercentTracker {
  private reported = 0;
  increment(percent: number | null): number | undefined {
    if (percent === null || percent <= this.reported) return undefined;
    const inc = percent - this.reported;
    this.reported = percent;
    return inc;
  }
}
