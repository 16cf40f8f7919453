/** A compare run with LoRAs among its inputs, in a worker thread of its own (loraCompareWorker.ts). */
import type { CompareResult } from '../../shared/result';
import type { CompareOptions, Progress } from '../pipeline/compare';
import type { LoraCompareWorkerInput, LoraCompareWorkerMessage } from './loraCompareWorker';
import { runOneShotWorker } from './oneShotWorker';

export function loraCompareInWorker(
  paths: string[],
  opts: CompareOptions,
  outDir: string,
  ctx: { report: (p: Omit<Progress, 'elapsedSeconds'>) => void; elapsed: () => number },
): Promise<CompareResult> {
  const { signal, onProgress: _onProgress, onNotice: _onNotice, onCheckpoint: _onCheckpoint, hashes, ...rest } = opts;
  const input: LoraCompareWorkerInput = {
    paths,
    opts: { ...rest, hashes: hashes ? { cacheFile: hashes.cache.file, ...(hashes.components === undefined ? {} : { components: hashes.components }) } : null },
    outDir,
    elapsedAtStart: ctx.elapsed(),
  };
  return runOneShotWorker<LoraCompareWorkerMessage, CompareResult>(
    'loraCompare',
    input,
    'LoRA comparison',
    (m) => {
      if (m.type === 'progress') return void ctx.report(m.progress);
      return m.type === 'done' ? { done: m.result } : { failed: m.error };
    },
    signal,
  );
}
