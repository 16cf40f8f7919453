/** `modeldiff report`: one self-contained HTML file of a comparison and its analyses (data: src/compute/output/report; page: src/views/report). */
import { join, resolve } from 'node:path';
import { parseTimeEmbed, type AnalysisFile, DEFAULT_LAYERS_BUDGET_MIB, writeReport } from '../../compute';
import { reportHtml } from '../../views/report/page';
import { intFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { compareSettings } from '../compareRun';
import { EXIT } from '../exitCodes';
import { COMPARE_OPTIONS, QUIET_OPTION, TIME_EMBED_OPTION } from '../options';
import { checkOutputFile } from '../paths';
import { formatBytes } from '../../shared/format';
import { shown } from '../terminal';
import { analysisFor } from './analysisFor';
import { hashCachePath, printLines, writeFailure } from './common';
import { isCompareOutput, resultFor, RESULTS_OPTION } from './resultFor';

export const reportSpec: CommandSpec = {
  name: 'report',
  brief: 'one self-contained HTML report',
  usage: ['<compare-output-dir | folder | files...> [options]'],
  summary:
    'One self-contained HTML file (no network; opens in any browser): heatmaps, graph, breakdowns, recipes, hashes,\n' +
    'lineage, health, family views and per-layer tables. From a compare output, or compares the models first.',
  positionals: { min: 1, max: Infinity },
  options: {
    out: { type: 'string', short: 'o', arg: 'file', help: 'the HTML file (default <dir>/report.html, or ./modeldiff-report.html for models)' },
    results: RESULTS_OPTION,
    'layers-budget': { type: 'string', arg: 'MiB', help: `room for per-layer tables, 0 to 1048576 MiB (default ${DEFAULT_LAYERS_BUDGET_MIB}); the nearest pairs first` },
    'time-embed': TIME_EMBED_OPTION,
    'no-analysis': { type: 'boolean', help: 'the comparison only, without the analyses' },
    ...COMPARE_OPTIONS,
    quiet: QUIET_OPTION,
  },
  exitNotes: 'Given models, report exits 1 when some of them could not be read (the report shows the others).',
};

export async function reportCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(reportSpec, argv);
  if (!p) return EXIT.ok;
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const budgetMiB = intFlag(p, 'layers-budget', 0, 1 << 20) ?? DEFAULT_LAYERS_BUDGET_MIB;
  const settings = compareSettings(p);
  const hashCache = hashCachePath(p);
  const given = stringFlag(p, 'out');
  if (given !== undefined) checkOutputFile(given, '--out');

  const { src, fileErrors } = await resultFor(p, settings, say, signal);
  const out = resolve(given ?? (isCompareOutput(p) ? join(src.dir, 'report.html') : 'modeldiff-report.html'));
  if (given === undefined) checkOutputFile(out, 'the report');

  let analysis: AnalysisFile | null = null;
  let analysisError: string | undefined;
  if (p.flags.has('no-analysis')) analysisError = 'this report was written with --no-analysis';
  else {
    const a = await analysisFor(src, { timeEmbed, hashes: p.flags.has('hashes'), hashCache, say, signal });
    if ('analysis' in a) analysis = a.analysis;
    else {
      analysisError = a.error;
      say(`analyses failed (the report has the comparison only): ${shown(a.error)}`);
    }
  }

  let written;
  try {
    written = writeReport(src, out, { render: reportHtml, analysis, ...(analysisError ? { analysisError } : {}), layersBudgetBytes: budgetMiB * 1024 * 1024 });
  } catch (e) {
    throw isWriteOf(e, out) ? writeFailure(e, out) : e;
  }
  const { bytes, layers, differencesCap } = written;
  const n = src.result.models.length;
  if (!quiet) {
    const kept = layers.omitted ? `per-layer tables of ${layers.pairs.length} of ${src.result.pairs.length} pairs (--layers-budget ${budgetMiB} MiB)` : `per-layer tables of all ${layers.pairs.length} pairs`;
    const cut = differencesCap === null ? '' : `, lists of differing keys cut to ${differencesCap} per pair`;
    printLines(`Written ${shown(out)} (${formatBytes(bytes)}): ${n} models, ${kept}${cut}${analysis ? ', analyses' : ''}`);
  }
  return fileErrors ? EXIT.fileErrors : EXIT.ok;
}

/** A system error about the report file itself (or its temporary file beside it), not about what it was made from. */
export function isWriteOf(e: unknown, file: string): boolean {
  const path = (e as { path?: unknown }).path;
  const code = (e as { code?: unknown }).code;
  return (typeof path === 'string' && path.startsWith(file)) || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS';
}
