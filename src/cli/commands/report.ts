/** `modeldiff report`: one self-contained HTML file of a comparison and its analyses (see src/cli/report/html.ts). */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseTimeEmbed, type AnalysisFile } from '../../compute/analysis';
import { bundledFile } from '../../compute/bundled';
import type { ReportData } from '../../shared/report';
import { intFlag, parseArgs, stringFlag } from '../args';
import { COMPARE_BOOLEANS, COMPARE_VALUED, hashCachePath } from '../compareRun';
import { formatBytes } from '../format';
import { reportHtml } from '../report/html';
import { DEFAULT_LAYERS_BUDGET_MIB, reportLayers } from '../report/layersData';
import { analysisFor } from './analysisFor';
import { OK, usage } from './common';
import { isCompareOutput, resultFor } from './resultFor';

const LINE =
  'modeldiff report <compare-output-dir | folder | files...> [--out report.html] [--results dir] [--layers-budget MiB] [--time-embed BASE|IN00] [--hashes] [--cache file | --no-cache] [--no-analysis] [--quiet]';

export async function reportCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'no-analysis', 'quiet'], ['out', 'results', 'layers-budget', 'time-embed', ...COMPARE_VALUED]);
  if (!p.positional.length) return usage(LINE);
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const budgetMiB = intFlag(p, 'layers-budget', 0) ?? DEFAULT_LAYERS_BUDGET_MIB;

  const src = await resultFor(p, 'a report', say);

  let analysis: AnalysisFile | null = null;
  let analysisError: string | undefined;
  if (p.flags.has('no-analysis')) analysisError = 'this report was written with --no-analysis';
  else {
    const a = await analysisFor(src, { timeEmbed, hashes: p.flags.has('hashes'), hashCache: hashCachePath(p), say });
    if ('analysis' in a) analysis = a.analysis;
    else {
      analysisError = a.error;
      say(`analyses failed (the report has the comparison only): ${a.error}`);
    }
  }

  const layers = reportLayers(src, budgetMiB * 1024 * 1024);
  const data: ReportData = {
    result: src.result,
    outDir: src.dir,
    analysis,
    ...(analysisError ? { analysisError } : {}),
    layers,
    createdAt: new Date().toISOString(),
  };
  const n = src.result.models.length;
  const title = `modeldiff report: ${n} models (${basename(src.dir)})`;
  const html = reportHtml(data, readFileSync(bundledFile('webview/report.js'), 'utf8'), title);
  const out = resolve(stringFlag(p, 'out') ?? (isCompareOutput(p) ? join(src.dir, 'report.html') : 'modeldiff-report.html'));
  writeFileSync(out + '.tmp', html);
  renameSync(out + '.tmp', out);
  if (!quiet) {
    const kept = layers.omitted ? `per-layer tables of ${layers.pairs.length} of ${src.result.pairs.length} pairs (--layers-budget ${budgetMiB} MiB)` : `per-layer tables of all ${layers.pairs.length} pairs`;
    process.stdout.write(`Written ${out} (${formatBytes(Buffer.byteLength(html))}): ${n} models, ${kept}${analysis ? ', analyses' : ''}\n`);
  }
  return OK;
}
