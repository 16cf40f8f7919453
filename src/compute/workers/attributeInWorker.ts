/** `attribute` in a worker thread of its own, for callers that must stay responsive (the extension host). */
import { Worker } from 'node:worker_threads';
import { cancelled, ModeldiffError } from '../../shared/errors';
import type { AttributeFilesResult } from '../lora/attributeFiles';
import type { LoraWorkerInput, LoraWorkerMessage } from './loraWorker';
import { STOP } from './messages';
import { fromThread } from './threadReply';
import { workerFile } from './workerFiles';

export function attributeInWorker(
  input: LoraWorkerInput,
  opts: { signal?: AbortSignal; onProgress?: (p: { keysDone: number; keysTotal: number }) => void } = {},
): Promise<AttributeFilesResult> {
  if (opts.signal?.aborted) return Promise.reject(cancelled());
  return new Promise<AttributeFilesResult>((resolve, reject) => {
    const worker = new Worker(workerFile('lora'), { workerData: input });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => {
      worker.postMessage(STOP);
      // the fit checks the signal between weights; a long synchronous step is cut short
      setTimeout(() => settle(() => reject(cancelled())), 200).unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: LoraWorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.(m);
      else if (m.type === 'done') settle(() => resolve(m.result));
      else settle(() => reject(fromThread(m.error)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', () => settle(() => reject(new ModeldiffError('ENGINE_INTERNAL', 'the attribution thread ended early'))));
  });
}
