// Entry of the engine's worker threads (bundled to dist/engineWorker.js and run by piscina). Failures come back as a
// ThreadReply (threadReply.ts), never as a thrown Error.
import { createKernels } from '../kernels';
import type { Kernels } from '../kernels/types';
import { runTask } from '../engine/runTask';
import { ResultArrays } from '../engine/resultArrays';
import { runPairTask, type PairTask } from '../engine/pairTask';
import type { WorkTask } from '../engine/workTask';
import { replyOf } from './threadReply';

const cache = new Map<string, Kernels>();
const arrays = new ResultArrays();

export default function work(task: WorkTask | PairTask) {
  arrays.nextTask();
  return replyOf(() => {
    let k = cache.get(task.kernels);
    if (!k) cache.set(task.kernels, (k = createKernels(task.kernels)));
    return 'kind' in task && task.kind === 'pair' ? runPairTask(task, k) : runTask(task as WorkTask, k, arrays);
  });
}
