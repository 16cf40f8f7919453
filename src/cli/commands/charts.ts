/**
 * `modeldiff charts`: the panel's charts as SVG files for papers and model cards, rendered server-side by echarts
 * from the same option builders the panel uses (src/views/charts), in the light palette.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModeldiffError, modelLabel, parseTimeEmbed, writeFileAtomic, type AnalysisFile, type ResultSource, type SchemeName, pairPriority } from '../../compute';
import { breakdownBarsOption, breakdownHeatmapOption, breakdownHeatmapSize, pairIndexOf } from '../../views/charts/breakdown';
import { dendrogramHeight, dendrogramOption } from '../../views/charts/dendrogram';
import { distanceHeatmapOption, distanceHeatmapSize, type DistanceMetric } from '../../views/charts/distance';
import { mstHeight, mstOption } from '../../views/charts/mst';
import { LIGHT_PALETTE } from '../../views/charts/palette';
import { recipeChartOption } from '../../views/charts/recipe';
import { renderSvg } from '../../views/charts/ssr';
import { choiceFlag, intFlag, listFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { compareSettings } from '../compareRun';
import { EXIT } from '../exitCodes';
import { COMPARE_OPTIONS, QUIET_OPTION, TIME_EMBED_OPTION } from '../options';
import { checkOutputFolder } from '../paths';
import { shown } from '../terminal';
import { analysisFor } from './analysisFor';
import { hashCachePath, modelIndex, printLines, writeFailure } from './common';
import { isCompareOutput, resultFor, RESULTS_OPTION } from './resultFor';

export const chartsSpec: CommandSpec = {
  name: 'charts',
  brief: 'the charts as SVG files',
  usage: ['<compare-output-dir | folder | files...> [options]'],
  summary:
    'The charts as SVG files (for papers and model cards): distance matrices, block/layer-type/VAE/TE breakdowns of a\n' +
    'pair (default: the closest pair of different UNets) and of every pair, the merge estimate of a model (default: the\n' +
    'best explained), dendrograms and spanning trees.',
  positionals: { min: 1, max: Infinity },
  options: {
    out: { type: 'string', short: 'o', arg: 'dir', help: 'the folder for the SVG files (default <dir>/charts, or ./modeldiff-charts for models)' },
    results: RESULTS_OPTION,
    component: { type: 'string', arg: 'c,...|all', help: 'the components drawn (those in the result; default all)' },
    metric: { type: 'string', short: 'm', arg: 'l2|cosine', help: 'the distance of the matrices (default l2)' },
    pair: { type: 'string', arg: 'A,B', help: 'the pair whose breakdowns are drawn' },
    model: { type: 'string', arg: 'M', help: 'the model whose merge estimate is drawn' },
    'time-embed': TIME_EMBED_OPTION,
    width: { type: 'string', arg: 'px', help: 'width of the figures, 320 to 8000 pixels (default 960)' },
    ...COMPARE_OPTIONS,
    quiet: QUIET_OPTION,
  },
  exitNotes: 'Given models, charts exits 1 when some of them could not be read (the charts show the others).',
};

/** Folder heatmaps show at most this many pairs (the nearest first); the file says how many it shows. */
export const MAX_HEATMAP_PAIRS = 120;
const WIDTH = 960;

/** A file-name part from a model name: its stem, with anything unusual replaced. */
export function fileStem(name: string): string {
  return (
    name
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+|_+$/g, '')
      .slice(0, 60) || 'model'
  );
}

interface Chart {
  file: string;
  option: Record<string, unknown>;
  width: number;
  height: number;
}

/** The pair a breakdown is drawn for: --pair A,B, else the closest pair of UNets that is not identical. */
function chosenPair(src: ResultSource, given: string[] | null): { a: number; b: number } {
  if (given) {
    const a = modelIndex(src, given[0]!);
    const b = modelIndex(src, given[1]!);
    if (a === b) throw new ModeldiffError('USAGE', '--pair needs two different models');
    return { a, b };
  }
  const order = pairPriority(src.result).filter((p) => {
    const u = src.result.pairs[p]!.components.unet;
    return !u || (u.status !== 'identical' && u.status !== 'equal_values');
  });
  const p = src.result.pairs[order[0] ?? 0]!;
  return { a: p.a, b: p.b };
}

/** The recipe drawn: --model M, else the model its parents explain best (lowest overall relative residual). */
function chosenRecipe(src: ResultSource, a: AnalysisFile, given: string | undefined) {
  if (given) {
    const m = modelIndex(src, given);
    const r = a.recipes.find((x) => x.model === m);
    if (!r) throw new ModeldiffError('USAGE', `no merge estimate for ${shown(modelLabel(src.result.models[m]!))} (it needs a UNet and three models or more)`);
    return r;
  }
  const fits = a.recipes.filter((r) => r.overall && r.overall.distances.every((d) => d > 0));
  return fits.sort((x, y) => x.overall!.relResidual - y.overall!.relResidual)[0] ?? null;
}

export function chartsFor(src: ResultSource, analysis: AnalysisFile | null, opts: { components: string[]; metric: DistanceMetric; pair: { a: number; b: number }; recipeModel?: string; width: number }): Chart[] {
  const { result } = src;
  const p = LIGHT_PALETTE;
  const names = { models: result.models };
  const charts: Chart[] = [];
  for (const c of opts.components) {
    const size = distanceHeatmapSize(result.models.length);
    charts.push({ file: `distance-${c}-${opts.metric}.svg`, option: distanceHeatmapOption(result, c, opts.metric, p), width: Math.max(opts.width, size.width), height: size.height });
  }
  if (!analysis) return charts;
  const stem = (i: number) => fileStem(modelLabel(result.models[i]!));
  const order = pairPriority(result);
  for (const [scheme, m] of Object.entries(analysis.breakdowns) as [SchemeName, NonNullable<AnalysisFile['breakdowns'][SchemeName]>][]) {
    const pi = pairIndexOf(m, opts.pair.a, opts.pair.b);
    if (pi >= 0) {
      charts.push({ file: `breakdown-${scheme}-${stem(opts.pair.a)}-vs-${stem(opts.pair.b)}.svg`, option: breakdownBarsOption(m, pi, p, { names }), width: opts.width, height: 160 + m.groups.length * 22 });
    }
    const shown = m.pairs.length <= MAX_HEATMAP_PAIRS ? undefined : order.slice(0, MAX_HEATMAP_PAIRS).map((q) => pairIndexOf(m, result.pairs[q]!.a, result.pairs[q]!.b)).filter((q) => q >= 0);
    const size = breakdownHeatmapSize(m, shown?.length ?? m.pairs.length);
    charts.push({ file: `breakdown-${scheme}-pairs.svg`, option: breakdownHeatmapOption(m, names, p, shown ? { pairs: shown } : {}), width: Math.max(opts.width, size.width), height: size.height });
  }
  const recipe = chosenRecipe(src, analysis, opts.recipeModel);
  if (recipe) charts.push({ file: `recipe-${stem(recipe.model)}.svg`, option: recipeChartOption(recipe, p), width: opts.width, height: 420 });
  for (const f of analysis.family) {
    if (!opts.components.includes(f.component)) continue;
    charts.push({ file: `dendrogram-${f.component}.svg`, option: dendrogramOption(f.dendrogram, p), width: opts.width, height: dendrogramHeight(f.dendrogram) });
    charts.push({ file: `mst-${f.component}.svg`, option: mstOption(f.mst, names, p), width: opts.width, height: mstHeight(f.mst) });
  }
  return charts;
}

export async function chartsCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(chartsSpec, argv);
  if (!p) return EXIT.ok;
  const pairNames = listFlag(p, 'pair');
  if (pairNames && pairNames.length !== 2) throw new ModeldiffError('USAGE', `--pair names two models, A,B, not "${shown(stringFlag(p, 'pair')!)}"`);
  const width = intFlag(p, 'width', 320, 8000) ?? WIDTH;
  const metric = choiceFlag(p, 'metric', ['l2', 'cosine'] as const, 'l2');
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const components = listFlag(p, 'component') ?? ['all'];
  const settings = compareSettings(p);
  const hashCache = hashCachePath(p);
  const given = stringFlag(p, 'out');
  if (given !== undefined) checkOutputFolder(given, '--out');
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const { src, fileErrors } = await resultFor(p, settings, say, signal);
  const known = src.result.components as string[];
  const wanted = components.includes('all') ? known : components;
  for (const c of wanted) if (!known.includes(c)) throw new ModeldiffError('USAGE', `--component: no component "${shown(c)}" in this result (it has ${known.join(', ')}; or all)`);
  const out = resolve(given ?? (isCompareOutput(p) ? join(src.dir, 'charts') : 'modeldiff-charts'));
  if (given === undefined) checkOutputFolder(out, 'the charts folder');
  const a = await analysisFor(src, { timeEmbed, hashes: false, hashCache, say, signal });
  if ('error' in a) say(`analyses failed (only the distance matrices are drawn): ${shown(a.error)}`);
  const recipeModel = stringFlag(p, 'model');
  const charts = chartsFor(src, 'analysis' in a ? a.analysis : null, {
    components: wanted,
    metric,
    pair: chosenPair(src, pairNames ?? null),
    ...(recipeModel ? { recipeModel } : {}),
    width,
  });
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw writeFailure(e, out);
  }
  for (const c of charts) {
    const file = join(out, c.file);
    const svg = renderSvg(c.option, c.width, c.height);
    try {
      writeFileAtomic(file, svg);
    } catch (e) {
      throw writeFailure(e, file);
    }
  }
  if (!quiet) printLines(`Written ${charts.length} SVG files to ${shown(out)}:\n${charts.map((c) => `  ${shown(c.file)}`).join('\n')}`);
  return fileErrors ? EXIT.fileErrors : EXIT.ok;
}
