// Entry of the engine's worker threads (bundled to dist/engineWorker.js and run by piscina).
import { createKernels } from '../kernels';
import type { Kernels } from '../kernels/types';
import { runTask } from './compute';
import type { TaskResult, WorkTask } from './work';

const cache = new Map<string, Kernels>();

export default function work(task: WorkTask): TaskResult {
  let k = cache.get(task.kernels);
  if (!k) cache.set(task.kernels, (k = createKernels(task.kernels)));
  return runTask(task, k);
}
