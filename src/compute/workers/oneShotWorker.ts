/**
 * One job in a worker thread of its own, for callers that must stay responsive (the extension host): the worker gets
 * `input` as its workerData and answers with messages; `read` turns each into progress (undefined), the result
 * ({ done }) or a failure ({ failed }). Aborting `signal` asks the worker to stop and, if a long synchronous step keeps
 * it busy, ends it after 200 ms.
 */
import { Worker } from 'node:worker_threads';
import { cancelled, ModeldiffError, type SerializedError } from '../../shared/errors';
import { STOP } from './messages';
import { fromThread } from './threadReply';
import { workerFile } from './workerFiles';

export type WorkerAnswer<T> = { done: T } | { failed: SerializedError } | undefined;

export function runOneShotWorker<M, T>(
  kind: Parameters<typeof workerFile>[0],
  input: unknown,
  what: string,
  read: (m: M) => WorkerAnswer<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(workerFile(kind), { workerData: input });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => {
      worker.postMessage(STOP);
      setTimeout(() => settle(() => reject(cancelled())), 200).unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: M) => {
      const a = read(m);
      if (a === undefined) return;
      if ('done' in a) settle(() => resolve(a.done));
      else settle(() => reject(fromThread(a.failed)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', () => settle(() => reject(new ModeldiffError('ENGINE_INTERNAL', `the ${what} thread ended early`))));
  });
}
