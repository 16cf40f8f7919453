/**
 * Worker thread of the hash pass (hashPass.ts): hashes the files it is given one after the other, off the main
 * thread so the engine's results keep flowing. Messages out: progress (bytes of the current file's two reads) and one
 * result per file; message in: 'stop'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { modelHashes } from './analysis/hashes';
import type { ModelHashes } from './analysis/types';

export interface HashWorkerInput {
  paths: string[];
  components: boolean;
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
    let base = 0;
    let last = 0;
    let lastTotal = 0;
    let posted = 0;
    const hashes = await modelHashes(input.paths[index]!, {
      components: input.components,
      signal: controller.signal,
      onBytes: (done, total) => {
        // each of the two reads counts from 0: a count going down starts the second one
        if (done < last) base += lastTotal;
        last = done;
        lastTotal = total;
        const now = Date.now();
        if (now - posted >= 100) {
          posted = now;
          post({ type: 'progress', index, done: base + done });
        }
      },
    });
    post({ type: 'result', index, hashes });
  }
}

main().catch((e: unknown) => post({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(e && typeof e === 'object' && 'code' in e ? { code: String(e.code) } : {}) }));
