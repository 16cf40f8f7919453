/** Merge-recipe estimate of one model: the weights of its parents per merge block, and how well they explain it. */
import { RECIPE_FIT_MAX_REL_RESIDUAL, REL_RESIDUAL_FLOOR, type MixtureFit, type RecipeEstimate } from '../../shared/analysis';
import type { ChartPalette } from './palette';
import { axisStyle, baseOption, seriesColor, titleOption } from './palette';
import type { TipContent, TipOptions } from './chartTooltip';
import { itemTooltip } from './chartTooltip';
import { formatNumber } from '../../shared/format';
import { modelName } from '../../shared/text';

/** Below this relative residual a fit is exact (float32 rounding of the per-layer distances). */
export const EXACT_REL_RESIDUAL = REL_RESIDUAL_FLOOR;

export type RecipeRowKind = 'overall' | 'block' | 'component';

export interface RecipeRow {
  kind: RecipeRowKind;
  fit: MixtureFit;
}

/** Overall first, then the blocks, then the components (TE, VAE...), as the CLI prints them. */
export function recipeRows(r: RecipeEstimate): RecipeRow[] {
  return [
    ...(r.overall ? [{ kind: 'overall' as const, fit: r.overall }] : []),
    ...r.blocks.map((fit) => ({ kind: 'block' as const, fit })),
    ...r.components.map((fit) => ({ kind: 'component' as const, fit })),
  ];
}

export function weight4(w: number | null | undefined): string {
  return w === null || w === undefined || !Number.isFinite(w) ? 'n/a' : w.toFixed(4);
}

export function relResidualText(rel: number): string {
  return rel < EXACT_REL_RESIDUAL ? `${rel.toFixed(4)} (exact)` : rel.toFixed(4);
}

/**
 * Whether the parents explain the model: the whole-UNet fit's relative residual at most RECIPE_FIT_MAX_REL_RESIDUAL
 * (null when there is no whole-UNet fit).
 */
export function recipeFits(r: RecipeEstimate): boolean | null {
  return r.overall ? r.overall.relResidual <= RECIPE_FIT_MAX_REL_RESIDUAL : null;
}

/** One line saying whether the recipe fits, with the threshold named. */
export function recipeVerdict(r: RecipeEstimate): string {
  const o = r.overall;
  if (!o) return 'No whole-UNet fit: no UNet key has a value for the model and every parent.';
  const rel = relResidualText(o.relResidual);
  return o.relResidual <= RECIPE_FIT_MAX_REL_RESIDUAL
    ? `Fits: the UNet's relative residual is ${rel} (at most ${RECIPE_FIT_MAX_REL_RESIDUAL}; 0 is an exact mix).`
    : `Does not fit: the UNet's relative residual is ${rel}, above ${RECIPE_FIT_MAX_REL_RESIDUAL} (1 means no closer to the mix than to the nearest parent). This model is not a mix of these parents; the weights below are only the least-bad mix.`;
}

export function parentLabel(r: RecipeEstimate, i: number, max = 28): string {
  const q = r.parents[i];
  return q ? `P${i} ${modelName(q.model, q.file, max)}` : `P${i}`;
}

export function recipeChartOption(r: RecipeEstimate, p: ChartPalette, opts: TipOptions = {}): Record<string, unknown> {
  const blocks = r.blocks;
  const ax = axisStyle(p);
  const names = r.parents.map((_, i) => parentLabel(r, i));
  const content = (params: unknown): TipContent | null => {
    const f = blocks[(params as { dataIndex: number }).dataIndex];
    if (!f) return null;
    return {
      title: `${f.group}${f.identifiable ? '' : ' (parents equal here: weights not determined)'}`,
      rows: [
        ...f.weights.map((w, i) => [names[i] ?? `P${i}`, weight4(w)] as [string, string]),
        ['relative residual', relResidualText(f.relResidual)],
        ['residual', formatNumber(f.residual, 6)],
        ['keys', String(f.keys)],
      ],
    };
  };
  return {
    ...baseOption(p),
    color: r.parents.map((_, i) => seriesColor(p, i)),
    title: titleOption(p, `Merge weights per block: ${modelName(r.model, r.file, 40)}`, `parents ${r.parentsFrom === 'user' ? 'as chosen' : r.parentsFrom === 'declared' ? 'declared in metadata' : 'nearest best-fitting'}; faded = parents equal there; line = relative residual`),
    legend: { top: 44, left: 8, textStyle: { color: p.foreground }, data: [...names, 'relative residual'] },
    grid: { top: 104, left: 16, right: 24, bottom: 12, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 4, bottom: 4 } },
    tooltip: itemTooltip(opts, content),
    xAxis: {
      type: 'category',
      name: 'merge block',
      nameLocation: 'middle',
      nameGap: 52,
      data: blocks.map((f) => f.group),
      ...ax,
      axisLabel: { color: p.foreground, interval: 0, rotate: blocks.length > 14 ? 60 : 0 },
      splitLine: { show: false },
    },
    yAxis: [
      { type: 'value', name: 'weight', min: 0, max: 1, ...ax, axisLabel: { color: p.foreground } },
      { type: 'value', name: 'relative residual', min: 0, max: (v: { max: number }) => Math.max(1, Math.ceil(v.max * 10) / 10), position: 'right', ...ax, splitLine: { show: false }, axisLabel: { color: p.muted } },
    ],
    series: [
      ...r.parents.map((_, i) => ({
        type: 'bar',
        name: names[i],
        stack: 'weights',
        barMaxWidth: 36,
        data: blocks.map((f) => ({ value: f.weights[i] ?? 0, itemStyle: { opacity: f.identifiable ? 1 : 0.35 } })),
      })),
      {
        type: 'line',
        name: 'relative residual',
        yAxisIndex: 1,
        data: blocks.map((f) => f.relResidual),
        symbolSize: 5,
        lineStyle: { color: p.foreground, width: 1.5 },
        itemStyle: { color: p.foreground },
      },
    ],
  };
}
