/** Runs the engine from the command line: the compare options every command that compares accepts (--hashes: file
 *  and component hashes computed during the run), a progress line on stderr, and the run's Ctrl-C signal. */
import { resolve } from 'node:path';
import { compareModels, type CompareResult, HashCache } from '../compute';
import { hashCachePath } from './commands/common';
import { intFlag, stringFlag, type Parsed } from './args';
import { progressBar } from './progressBar';

export const COMPARE_BOOLEANS = ['no-ema', 'hashes', 'no-cache', 'extract-weights'] as const;
export const COMPARE_VALUED = ['components', 'workers', 'memory', 'cache'] as const;


export async function compareWithProgress(inputs: string[], outDir: string, p: Parsed, signal: AbortSignal): Promise<CompareResult> {
  const bar = progressBar();
  try {
    return await compareModels(
      inputs.map((f) => resolve(f)),
      {
        outDir: resolve(outDir),
        components: stringFlag(p, 'components')?.split(',').map((s) => s.trim()).filter(Boolean) ?? null,
        includeEma: !p.flags.has('no-ema'),
        workers: intFlag(p, 'workers', 0),
        memoryBudgetMiB: intFlag(p, 'memory', 16),
        signal,
        onProgress: bar.update,
        hashes: p.flags.has('hashes') ? { cache: new HashCache(hashCachePath(p)) } : null,
        extractWeights: p.flags.has('extract-weights'),
      },
    );
  } finally {
    bar.done();
  }
}
