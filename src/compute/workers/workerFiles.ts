/** Where the bundled entry points of the workers are (scripts/build.mjs writes them to dist/). */
import { bundledFile } from '../io/bundledFile';

const BUNDLES = { engine: 'engineWorker.js', hash: 'hashWorker.js', analysis: 'analysisWorker.js', lora: 'loraWorker.js', loraCompare: 'loraCompareWorker.js' } as const;

export function workerFile(worker: keyof typeof BUNDLES): string {
  return bundledFile(BUNDLES[worker]);
}
