/**
 * `modeldiff charts`: the panel's charts as SVG files for papers and model cards, rendered server-side by echarts
 * from the same option builders the panel uses (src/views/charts), in the light palette.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModeldiffError, parseTimeEmbed, pairPriority, writeFileAtomic, type AnalysisFile, type ResultSource, type SchemeName } from '../../compute';
import { breakdownBarsOption, breakdownHeatmapOption, breakdownHeatmapSize, pairIndexOf } from '../../views/charts/breakdown';
import { dendrogramHeight, dendrogramOption } from '../../views/charts/dendrogram';
import { distanceHeatmapOption, distanceHeatmapSize, type DistanceMetric } from '../../views/charts/distance';
import { mstHeight, mstOption } from '../../views/charts/mst';
import { LIGHT_PALETTE } from '../../views/charts/palette';
import { recipeChartOption } from '../../views/charts/recipe';
import { renderSvg } from '../../views/charts/ssr';
import { parseArgs, stringFlag } from '../args';
import { COMPARE_BOOLEANS, COMPARE_VALUED } from '../compareRun';
import { analysisFor } from './analysisFor';
import { EXIT } from '../exitCodes';
import { choice, hashCachePath, modelIndex, usage } from './common';
import { isCompareOutput, resultFor } from './resultFor';

const LINE =
  'modeldiff charts <compare-output-dir | folder | files...> [--out dir] [--component c,...] [--metric l2|cosine] [--pair A,B] [--model M] [--time-embed BASE|IN00] [--width px] [--quiet]';

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
    if (!r) throw new ModeldiffError('USAGE', `no merge estimate for ${src.result.models[m]!.file} (it needs a UNet and three models or more)`);
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
  const stem = (i: number) => fileStem(result.models[i]!.file);
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
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'quiet'], ['out', 'results', 'component', 'metric', 'pair', 'model', 'time-embed', 'width', ...COMPARE_VALUED]);
  const pairArg = stringFlag(p, 'pair');
  const pairNames = pairArg === undefined ? null : pairArg.split(',').map((x) => x.trim());
  if (pairNames && (pairNames.length !== 2 || pairNames.some((x) => !x))) return usage(LINE);
  if (!p.positional.length) return usage(LINE);
  const quiet = p.flags.has('quiet');
  const say = (m: string) => quiet || process.stderr.write(`${m}\n`);
  const src = await resultFor(p, 'charts', say, signal);
  const a = await analysisFor(src, { timeEmbed: parseTimeEmbed(stringFlag(p, 'time-embed')), hashes: false, hashCache: hashCachePath(p), say, signal });
  if ('error' in a) say(`analyses failed (only the distance matrices are drawn): ${a.error}`);
  const components = (stringFlag(p, 'component') ?? 'all').split(',').map((s) => s.trim()).filter(Boolean);
  const known = src.result.components as string[];
  const wanted = components.includes('all') ? known : components;
  for (const c of wanted) if (!known.includes(c)) throw new ModeldiffError('USAGE', `no component "${c}" in this result (${known.join(', ')})`);
  const width = Number(stringFlag(p, 'width') ?? WIDTH);
  if (!Number.isInteger(width) || width < 320 || width > 8000) throw new ModeldiffError('USAGE', '--width is a whole number of pixels from 320 to 8000');

  const out = resolve(stringFlag(p, 'out') ?? (isCompareOutput(p) ? join(src.dir, 'charts') : 'modeldiff-charts'));
  mkdirSync(out, { recursive: true });
  const recipeModel = stringFlag(p, 'model');
  const charts = chartsFor(src, 'analysis' in a ? a.analysis : null, {
    components: wanted,
    metric: choice(p, 'metric', ['l2', 'cosine'] as const, 'l2'),
    pair: chosenPair(src, pairNames),
    ...(recipeModel ? { recipeModel } : {}),
    width,
  });
  for (const c of charts) writeFileAtomic(join(out, c.file), renderSvg(c.option, c.width, c.height));
  if (!quiet) process.stdout.write(`Written ${charts.length} SVG files to ${out}:\n${charts.map((c) => `  ${c.file}`).join('\n')}\n`);
  return EXIT.ok;
}
