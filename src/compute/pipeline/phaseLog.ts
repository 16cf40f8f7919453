/**
 * MODELDIFF_PHASES=1: `compare` prints on stderr, at the end of each phase, the phase's wall time and the process's
 * memory (RSS now, peak RSS so far, the main thread's V8 heap, its ArrayBuffers). `npm run bench` reads these lines;
 * the peak column rising in a phase says that phase set the peak. Worker threads count in RSS only.
 */
export interface PhaseLog {
  mark(phase: string, note?: string): void;
}

export const PHASES_ENV = 'MODELDIFF_PHASES';
/** The prefix of every line, for readers of stderr. */
export const PHASE_LINE = 'modeldiff-phase';

const NONE: PhaseLog = { mark() {} };

export function phaseLog(env: NodeJS.ProcessEnv = process.env, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): PhaseLog {
  if (!env[PHASES_ENV] || env[PHASES_ENV] === '0') return NONE;
  const t0 = performance.now();
  let last = t0;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0).padStart(6);
  return {
    mark(phase, note) {
      const now = performance.now();
      const m = process.memoryUsage();
      const peak = process.resourceUsage().maxRSS * 1024;
      write(
        `${PHASE_LINE} ${phase.padEnd(12)} ${((now - last) / 1000).toFixed(3).padStart(9)} s  at ${((now - t0) / 1000).toFixed(3).padStart(9)} s` +
          `  rss ${mib(m.rss)} MiB  peak ${mib(peak)} MiB  heap ${mib(m.heapUsed)} MiB  buffers ${mib(m.arrayBuffers)} MiB${note ? `  ${note}` : ''}`,
      );
      last = now;
    },
  };
}
