/** Progress text for the notification and the output channel (numbers: src/shared/format.ts). Pure. */
import { formatBytes, formatDuration } from '../../shared/format';

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

/** "42% · 1.20 GiB of 2.86 GiB · ETA 1m 05s[ · message]", or the phase while there are no bytes to count yet. */
export function progressText(p: ProgressLike): string {
  const pct = percentOf(p);
  if (pct === null || p.phase !== 'comparing') {
    return p.message ? `${p.phase}: ${p.message}` : p.phase;
  }
  const parts = [bytesText(pct, p.bytesDone, p.bytesTotal)];
  if (p.etaSeconds !== null && Number.isFinite(p.etaSeconds)) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  // (a run that reuses an earlier result says how many pairs it computes and keeps)
  if (p.message) parts.push(p.message);
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
