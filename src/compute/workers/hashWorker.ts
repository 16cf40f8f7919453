/**
 * Worker thread of the hash pass (src/compute/pipeline/hashPass.ts): hashes the files it is given one after the other, off the main
 * thread so the engine's results keep flowing. Messages out: progress (bytes of the current file read so far) and one
 * result per file; message in: 'stop'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { modelHashes } from '../analysis/hashes';
import type { ModelHashes } from '../../shared/analysis';

export interface HashWorkerInput {
  paths: string[];
  components: boolean;
  extractWeights: boolean;
}

export type HashWorkerMessage =
  | { type: 'progress'; index: number; done: number }
  | { type: 'result'; index: number; hashes: ModelHashes }
  | { type: 'failed'; message: string; code?: string };

const input = workerData as HashWorkerInput;
const controller = new AbortController();
parentPort!.on('message', (m) => m === 'stop' && controller.abort());
const post = (m: HashWorkerMessage) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  for (let index = 0; index < input.paths.length; index++) {
    let posted = 0;
    const hashes = await modelHashes(input.paths[index]!, {
      components: input.components,
      extractWeights: input.extractWeights,
      signal: controller.signal,
      onBytes: (done) => {
        const now = Date.now();
        if (now - posted >= 100) {
          posted = now;
          post({ type: 'progress', index, done });
        }
      },
    });
    post({ type: 'result', index, hashes });
  }
}

main().catch((e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(e && typeof e === 'object' && 'code' in e ? { code: String(e.code) } : {}) }));
