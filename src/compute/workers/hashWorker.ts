/**
 * Worker thread of the hash pass (src/compute/pipeline/hashPass.ts): hashes the files it is given one after the
 * other, off the main thread so the engine's results keep flowing. Messages (messages.ts) out: progress (bytes of the
 * current file read so far), one result per file, or failed; message in: STOP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { modelHashes } from '../analysis/hashes';
import { STOP, type HashWorkerInput, type HashWorkerMessage } from './messages';
import { threadFailure } from './threadReply';

const input = workerData as HashWorkerInput;
const controller = new AbortController();
parentPort!.on('message', (m) => m === STOP && controller.abort());
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

main().catch((e: unknown) => post({ type: 'failed', error: threadFailure(e) }));
