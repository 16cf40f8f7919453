/** `attribute` in a worker thread of its own, for callers that must stay responsive (the extension host). */
import type { AttributeFilesResult } from '../lora/attributeFiles';
import type { LoraWorkerInput, LoraWorkerMessage } from './loraWorker';
import { runOneShotWorker } from './oneShotWorker';

export function attributeInWorker(
  input: LoraWorkerInput,
  opts: { signal?: AbortSignal; onProgress?: (p: { keysDone: number; keysTotal: number }) => void } = {},
): Promise<AttributeFilesResult> {
  return runOneShotWorker<LoraWorkerMessage, AttributeFilesResult>(
    'lora',
    input,
    'attribution',
    (m) => {
      if (m.type === 'progress') return void opts.onProgress?.(m);
      return m.type === 'done' ? { done: m.result } : { failed: m.error };
    },
    opts.signal,
  );
}
