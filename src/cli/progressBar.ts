import type { Progress } from '../compute';
import { formatBytes, formatDuration } from '../shared/format';
import { shown } from './terminal';

/** One self-overwriting line on stderr; silent unless stderr is a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update: (p: Progress) => void; done: () => void } {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.phase === 'comparing') return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 60));
      let line: string;
      if (p.phase === 'comparing' && p.bytesTotal > 0) {
        const f = Math.min(1, p.bytesDone / p.bytesTotal);
        const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
        const eta = p.etaSeconds === null ? '' : ` ETA ${formatDuration(p.etaSeconds)}`;
        line = `[${bar}] ${(f * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}${eta}`;
      } else {
        line = `${p.phase}${p.message ? `: ${shown(p.message)}` : ''}...`;
      }
      stream.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
