/** The analyses of a compare output for the commands that show them (report, charts): analysis.json when it belongs to
 *  this result and has what is asked, else computed now and written beside it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shown } from '../terminal';
import { toModeldiffError, analyze, ANALYSIS_FILE, canReuse, readAnalysis, writeAnalysis, type AnalysisFile, type ResultSource, type TimeEmbedPlacement } from '../../compute';

export interface AnalysisWanted {
  timeEmbed?: TimeEmbedPlacement | undefined;
  hashes: boolean;
  hashCache: string | null;
  say: (line: string) => void;
  signal: AbortSignal;
}

function reusable(src: ResultSource, want: AnalysisWanted): AnalysisFile | null {
  if (!existsSync(join(src.dir, ANALYSIS_FILE))) return null;
  try {
    const a = readAnalysis(src.dir);
    return canReuse(a, src.result, { timeEmbed: want.timeEmbed ?? a.timeEmbed, computeHashes: want.hashes }) ? a : null;
  } catch {
    return null;
  }
}

/** The analysis, or the reason there is none (a failure is reported, not thrown, except cancellation). */
export async function analysisFor(src: ResultSource, want: AnalysisWanted): Promise<{ analysis: AnalysisFile } | { error: string }> {
  const found = reusable(src, want);
  if (found) return { analysis: found };
  try {
    const analysis = await analyze(src, {
      hashCache: want.hashCache,
      computeHashes: want.hashes,
      ...(want.timeEmbed ? { timeEmbed: want.timeEmbed } : {}),
      onStep: (m) => want.say(`analysing: ${shown(m)}`),
      signal: want.signal,
    });
    writeAnalysis(src.dir, analysis);
    return { analysis };
  } catch (e) {
    const err = toModeldiffError(e);
    if (err.code === 'CANCELLED') throw err;
    return { error: err.message };
  }
}
