/** `modeldiff report`: one self-contained HTML file of a comparison and its analyses (data: src/compute/output/report; page: src/views/report). */
import { join, resolve } from 'node:path';
import { parseTimeEmbed, type AnalysisFile, DEFAULT_LAYERS_BUDGET_MIB, writeReport } from '../../compute';
import { reportHtml } from '../../views/report/page';
import { intFlag, parseArgs, stringFlag } from '../args';
import { COMPARE_BOOLEANS, COMPARE_VALUED } from '../compareRun';
import { analysisFor } from './analysisFor';
import { EXIT } from '../exitCodes';
import { hashCachePath, usage } from './common';
import { isCompareOutput, resultFor } from './resultFor';
import { formatBytes } from '../../shared/format';

const LINE =
  'modeldiff report <compare-output-dir | folder | files...> [--out report.html] [--results dir] [--layers-budget MiB] [--time-embed BASE|IN00] [--hashes] [--cache file | --no-cache] [--no-analysis] [--quiet]';

export async function reportCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'no-analysis', 'quiet'], ['out', 'results', 'layers-budget', 'time-embed', ...COMPARE_VALUED]);
  if (!p.positional.length) return usage(LINE);
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const budgetMiB = intFlag(p, 'layers-budget', 0) ?? DEFAULT_LAYERS_BUDGET_MIB;

  const src = await resultFor(p, 'a report', say, signal);

  let analysis: AnalysisFile | null = null;
  let analysisError: string | undefined;
  if (p.flags.has('no-analysis')) analysisError = 'this report was written with --no-analysis';
  else {
    const a = await analysisFor(src, { timeEmbed, hashes: p.flags.has('hashes'), hashCache: hashCachePath(p), say, signal });
    if ('analysis' in a) analysis = a.analysis;
    else {
      analysisError = a.error;
      say(`analyses failed (the report has the comparison only): ${a.error}`);
    }
  }

  const out = resolve(stringFlag(p, 'out') ?? (isCompareOutput(p) ? join(src.dir, 'report.html') : 'modeldiff-report.html'));
  const { bytes, layers, differencesCap } = writeReport(src, out, { render: reportHtml, analysis, ...(analysisError ? { analysisError } : {}), layersBudgetBytes: budgetMiB * 1024 * 1024 });
  const n = src.result.models.length;
  if (!quiet) {
    const kept = layers.omitted ? `per-layer tables of ${layers.pairs.length} of ${src.result.pairs.length} pairs (--layers-budget ${budgetMiB} MiB)` : `per-layer tables of all ${layers.pairs.length} pairs`;
    const cut = differencesCap === null ? '' : `, lists of differing keys cut to ${differencesCap} per pair`;
    process.stdout.write(`Written ${out} (${formatBytes(bytes)}): ${n} models, ${kept}${cut}${analysis ? ', analyses' : ''}\n`);
  }
  return EXIT.ok;
}
