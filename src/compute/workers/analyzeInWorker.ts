/** `analyze` in a worker thread of its own, for callers that must stay responsive (the extension host). */
import { Worker } from 'node:worker_threads';
import { cancelled, ModeldiffError } from '../../shared/errors';
import type { AnalyzeOptions } from '../analysis/analyze';
import type { ResultSource } from '../analysis/layers';
import type { AnalysisFile } from '../../shared/analysis';
import { STOP, type AnalysisWorkerInput, type AnalysisWorkerMessage } from './messages';
import { fromThread } from './threadReply';
import { workerFile } from './workerFiles';

/** Same contract as analyze(src.dir, opts); the worker reads result.json from the folder itself. */
export function analyzeInWorker(src: string | ResultSource, opts: AnalyzeOptions = {}): Promise<AnalysisFile> {
  if (opts.signal?.aborted) return Promise.reject(cancelled());
  const options: AnalysisWorkerInput['options'] = {};
  if (opts.timeEmbed) options.timeEmbed = opts.timeEmbed;
  if (opts.hashCache !== undefined) options.hashCache = opts.hashCache;
  if (opts.computeHashes !== undefined) options.computeHashes = opts.computeHashes;
  const input: AnalysisWorkerInput = { dir: typeof src === 'string' ? src : src.dir, options };
  return new Promise<AnalysisFile>((resolve, reject) => {
    const worker = new Worker(workerFile('analysis'), { workerData: input });
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
      // the analyses check the signal between steps; a long synchronous step is cut short
      setTimeout(() => settle(() => reject(cancelled())), 200).unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: AnalysisWorkerMessage) => {
      if (m.type === 'step') opts.onStep?.(m.message);
      else if (m.type === 'done') settle(() => resolve(m.analysis));
      else settle(() => reject(fromThread(m.error)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', () => settle(() => reject(new ModeldiffError('ENGINE_INTERNAL', 'the analysis thread ended early'))));
  });
}
