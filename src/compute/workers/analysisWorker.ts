/**
 * Worker thread for analyzeInWorker (analyzeInWorker.ts): runs the analyses of one compare output off the caller's
 * thread (they read layers.bin synchronously, seconds for hundreds of models). Messages (messages.ts) out: step,
 * done, failed; in: STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyze } from '../analysis/analyze';
import { STOP, type AnalysisWorkerInput, type AnalysisWorkerMessage } from './messages';
import { threadFailure } from './threadReply';

const input = workerData as AnalysisWorkerInput;
const controller = new AbortController();
parentPort!.on('message', (m) => m === STOP && controller.abort());
const post = (m: AnalysisWorkerMessage) => parentPort!.postMessage(m);

analyze(input.dir, { ...input.options, signal: controller.signal, onStep: (message) => post({ type: 'step', message }) }).then(
  (analysis) => post({ type: 'done', analysis }),
  (e: unknown) => post({ type: 'failed', error: threadFailure(e) }),
);
