/** `analyze` in a worker thread of its own, for callers that must stay responsive (the extension host). */
import type { AnalyzeOptions } from '../analysis/analyze';
import type { ResultSource } from '../analysis/layers';
import type { AnalysisFile } from '../../shared/analysis';
import type { AnalysisWorkerInput, AnalysisWorkerMessage } from './messages';
import { runOneShotWorker } from './oneShotWorker';

/** Same contract as analyze(src.dir, opts); the worker reads result.json from the folder itself. */
export function analyzeInWorker(src: string | ResultSource, opts: AnalyzeOptions = {}): Promise<AnalysisFile> {
  const options: AnalysisWorkerInput['options'] = {};
  if (opts.timeEmbed) options.timeEmbed = opts.timeEmbed;
  if (opts.hashCache !== undefined) options.hashCache = opts.hashCache;
  if (opts.computeHashes !== undefined) options.computeHashes = opts.computeHashes;
  const input: AnalysisWorkerInput = { dir: typeof src === 'string' ? src : src.dir, options };
  return runOneShotWorker<AnalysisWorkerMessage, AnalysisFile>(
    'analysis',
    input,
    'analysis',
    (m) => {
      if (m.type === 'step') return void opts.onStep?.(m.message);
      return m.type === 'done' ? { done: m.analysis } : { failed: m.error };
    },
    opts.signal,
  );
}
