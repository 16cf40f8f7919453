import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ModeldiffError, RESULT_FILE, toModeldiffError } from '../../compute';
import { bundledFile } from '../../compute/bundled';
import { analyze, parseTimeEmbed, readAnalysis, writeAnalysis, type AnalysisFile, type ResultSource } from '../../compute/analysis';
import type { ReportData } from '../../shared/report';
import { intFlag, parseArgs, stringFlag } from '../args';
import { COMPARE_BOOLEANS, COMPARE_VALUED, compareWithProgress, hashCachePath } from '../compareRun';
import { formatBytes } from '../format';
import { reportHtml } from '../report/html';
import { DEFAULT_LAYERS_BUDGET_MIB, reportLayers } from '../report/layersData';
import { OK, source, usage } from './common';

const LINE =
  'modeldiff report <compare-output-dir | folder | files...> [--out report.html] [--results dir] [--layers-budget MiB] [--time-embed BASE|IN00] [--hashes] [--cache file | --no-cache] [--no-analysis] [--quiet]';


function reusableAnalysis(src: ResultSource, timeEmbed: string | undefined, hashes: boolean): AnalysisFile | null {
  if (!existsSync(join(src.dir, 'analysis.json'))) return null;
  try {
    const a = readAnalysis(src.dir);
    if (a.resultCreatedAt !== src.result.createdAt) return null;
    if (timeEmbed && a.timeEmbed !== timeEmbed) return null;
    if (hashes && !a.hashes) return null;
    return a;
  } catch {
    return null;
  }
}

export async function reportCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'no-analysis', 'quiet'], ['out', 'results', 'layers-budget', 'time-embed', ...COMPARE_VALUED]);
  if (!p.positional.length) return usage(LINE);
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const budgetMiB = intFlag(p, 'layers-budget', 0) ?? DEFAULT_LAYERS_BUDGET_MIB;

  const first = resolve(p.positional[0]!);
  let src: ResultSource;
  if (p.positional.length === 1 && existsSync(join(first, RESULT_FILE))) {
    src = source(first);
  } else {
    const results = resolve(stringFlag(p, 'results') ?? 'modeldiff-results');
    say(`comparing into ${results}`);
    const result = await compareWithProgress(p.positional, results, p);
    src = { dir: results, result };
    for (const e of result.errors) say(`skipped ${e.file}: ${e.message}`);
  }
  if (src.result.models.length < 2) throw new ModeldiffError('USAGE', `need at least 2 readable models for a report, found ${src.result.models.length}`);

  let analysis: AnalysisFile | null = null;
  let analysisError: string | undefined;
  if (!p.flags.has('no-analysis')) {
    analysis = reusableAnalysis(src, timeEmbed, p.flags.has('hashes'));
    if (!analysis) {
      try {
        analysis = await analyze(src, {
          hashCache: hashCachePath(p),
          computeHashes: p.flags.has('hashes'),
          ...(timeEmbed ? { timeEmbed } : {}),
          onStep: (m) => say(`analysing: ${m}`),
        });
        writeAnalysis(src.dir, analysis);
      } catch (e) {
        const err = toModeldiffError(e);
        if (err.code === 'CANCELLED') throw err;
        analysisError = err.message;
        say(`analyses failed (the report has the comparison only): ${err.message}`);
      }
    }
  } else {
    analysisError = 'this report was written with --no-analysis';
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
  const out = resolve(stringFlag(p, 'out') ?? (p.positional.length === 1 && existsSync(join(first, RESULT_FILE)) ? join(first, 'report.html') : 'modeldiff-report.html'));
  writeFileSync(out + '.tmp', html);
  renameSync(out + '.tmp', out);
  if (!quiet) {
    const kept = layers.omitted ? `per-layer tables of ${layers.pairs.length} of ${src.result.pairs.length} pairs (--layers-budget ${budgetMiB} MiB)` : `per-layer tables of all ${layers.pairs.length} pairs`;
    process.stdout.write(`Written ${out} (${formatBytes(Buffer.byteLength(html))}): ${n} models, ${kept}${analysis ? ', analyses' : ''}\n`);
  }
  return OK;
}
