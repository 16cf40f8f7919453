/**
 * Worker thread for a compare run whose inputs include LoRAs (pipeline/loraCompare.ts): that run multiplies every
 * LoRA's factors in long synchronous steps (minutes for hundreds of LoRAs), so it runs here and the caller's thread
 * stays free to show progress and to stop it (Ctrl-C in the CLI, Cancel in the extension host).
 * Messages out: progress, done, failed; in: STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SerializedError } from '../../shared/errors';
import type { CompareResult } from '../../shared/result';
import { HashCache } from '../analysis/hashes/hashCache';
import type { CompareOptions, Progress } from '../pipeline/compare';
import { runLoraCompare } from '../pipeline/loraCompare';
import { STOP } from './messages';
import { threadFailure } from './threadReply';

/** CompareOptions without what cannot cross a thread (callbacks, the signal); the hash cache goes by its file. */
export type LoraCompareWorkerOptions = Omit<CompareOptions, 'signal' | 'onProgress' | 'onNotice' | 'onCheckpoint' | 'hashes'> & {
  hashes: { cacheFile: string | null; components?: boolean } | null;
};

export interface LoraCompareWorkerInput {
  paths: string[];
  opts: LoraCompareWorkerOptions;
  outDir: string;
  /** seconds the run had taken when the thread started, so elapsed times continue the caller's clock */
  elapsedAtStart: number;
}

export type LoraCompareWorkerMessage =
  | { type: 'progress'; progress: Omit<Progress, 'elapsedSeconds'> }
  | { type: 'done'; result: CompareResult }
  | { type: 'failed'; error: SerializedError };

if (parentPort) {
  const input = workerData as LoraCompareWorkerInput;
  const controller = new AbortController();
  parentPort.on('message', (m) => m === STOP && controller.abort());
  const post = (m: LoraCompareWorkerMessage) => parentPort!.postMessage(m);
  const t0 = performance.now();
  const { hashes, ...rest } = input.opts;
  const opts: CompareOptions = {
    ...rest,
    signal: controller.signal,
    ...(hashes ? { hashes: { cache: new HashCache(hashes.cacheFile), ...(hashes.components === undefined ? {} : { components: hashes.components }) } } : {}),
  };
  runLoraCompare(input.paths, opts, input.outDir, {
    report: (progress) => post({ type: 'progress', progress }),
    elapsed: () => input.elapsedAtStart + (performance.now() - t0) / 1000,
  }).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'failed', error: threadFailure(e) }),
  );
}
