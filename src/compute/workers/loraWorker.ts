/**
 * Worker thread for attributeInWorker (attributeInWorker.ts): attributes a checkpoint's difference from a base to
 * LoRAs off the caller's thread (the fit reads and multiplies every LoRA's factors: seconds to minutes). Messages
 * out: progress, done, failed; in: STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attributeFiles, type AttributeFilesResult } from '../lora/attributeFiles';
import { STOP } from './messages';
import type { SerializedError } from '../../shared/errors';
import { threadFailure } from './threadReply';

export interface LoraWorkerInput {
  checkpoint: string;
  base: string;
  loras: string[];
  allowNegative: boolean;
  memoryBudgetMiB?: number;
  extractWeights?: boolean;
}

export type LoraWorkerMessage =
  | { type: 'progress'; keysDone: number; keysTotal: number }
  | { type: 'done'; result: AttributeFilesResult }
  | { type: 'failed'; error: SerializedError };

if (parentPort) {
  const input = workerData as LoraWorkerInput;
  const controller = new AbortController();
  parentPort.on('message', (m) => m === STOP && controller.abort());
  const post = (m: LoraWorkerMessage) => parentPort!.postMessage(m);
  attributeFiles(input.checkpoint, input.base, input.loras, {
    allowNegative: input.allowNegative,
    ...(input.memoryBudgetMiB ? { memoryBudgetMiB: input.memoryBudgetMiB } : {}),
    ...(input.extractWeights ? { extractWeights: true } : {}),
    signal: controller.signal,
    onProgress: ({ keysDone, keysTotal }) => post({ type: 'progress', keysDone, keysTotal }),
  }).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'failed', error: threadFailure(e) }),
  );
}
