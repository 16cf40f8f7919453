/**
 * Breakdown charts: the L2 of one pair split into groups of keys (merge blocks, layer types, VAE parts, text-encoder
 * layers) as bars, and the group x pair matrix of a folder as a heatmap.
 */
import type { BreakdownMatrix, SchemeName } from '../../shared/analysis';
import type { ChartPalette } from './palette';
import { axisStyle, baseOption, heatmapScales, titleOption } from './palette';
import type { TipOptions } from './chartTooltip';
import { itemTooltip } from './chartTooltip';
import { formatNumber, percent } from '../../shared/format';
import { modelName } from '../../shared/text';

export const SCHEME_TITLES: Record<SchemeName, string> = {
  block: 'UNet blocks',
  type: 'UNet layer types',
  vae: 'VAE parts',
  te: 'text-encoder layers',
};

const GROUP_AXIS: Record<SchemeName, string> = {
  block: 'merge block',
  type: 'layer type',
  vae: 'VAE part',
  te: 'text-encoder part',
};

export interface ModelNames {
  models: readonly { file: string }[];
}

export interface BreakdownRow {
  group: string;
  /** null: no key of the group has a value for this pair */
  l2: number | null;
  /** l2^2 over the sum of l2^2 of the groups; null when l2 is null or the total is 0 */
  share: number | null;
  changedKeys: number;
  /** keys with a value (absent from analysis.json, which leaves it out) */
  keys: number | null;
}

/** Index into matrix.pairs of the pair (a, b) in either order; -1 when the matrix has no such pair. */
export function pairIndexOf(m: BreakdownMatrix, a: number, b: number): number {
  return m.pairs.findIndex((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
}

export function breakdownRows(m: BreakdownMatrix, pairIndex: number): BreakdownRow[] {
  const l2 = m.groups.map((_, g) => m.l2[g]?.[pairIndex] ?? null);
  const total = l2.reduce<number>((s, v) => s + (v === null ? 0 : v * v), 0);
  return m.groups.map((group, g) => {
    const v = l2[g]!;
    return {
      group,
      l2: v,
      share: v === null || total === 0 ? null : (v * v) / total,
      changedKeys: m.changedKeys[g]?.[pairIndex] ?? 0,
      keys: m.keys?.[g]?.[pairIndex] ?? null,
    };
  });
}

export function pairName(m: BreakdownMatrix, pairIndex: number, names?: ModelNames, max = 24): string {
  const p = m.pairs[pairIndex];
  if (!p) return `pair ${pairIndex}`;
  return `${modelName(p.a, names?.models[p.a]?.file, max)} vs ${modelName(p.b, names?.models[p.b]?.file, max)}`;
}

const SHOW_BAR_LABELS = 14;

export function breakdownBarsOption(m: BreakdownMatrix, pairIndex: number, p: ChartPalette, opts: TipOptions & { names?: ModelNames } = {}): Record<string, unknown> {
  const rows = breakdownRows(m, pairIndex);
  const ax = axisStyle(p);
  const many = rows.length > SHOW_BAR_LABELS;
  return {
    ...baseOption(p),
    title: titleOption(p, `L2 per ${GROUP_AXIS[m.scheme]}: ${pairName(m, pairIndex, opts.names)}`, m.scheme === 'block' ? `time_embed in ${m.timeEmbed}; n/a = no key with a value` : 'n/a = no key with a value'),
    grid: { top: 84, left: 16, right: 24, bottom: 12, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 4, bottom: 4 } },
    tooltip: itemTooltip(opts, (params) => {
      const r = rows[(params as { dataIndex: number }).dataIndex];
      if (!r) return null;
      return {
        title: `${r.group}: L2 ${formatNumber(r.l2, 6)}`,
        rows: [
          ['share of L2²', percent(r.share)],
          ['changed keys', r.keys === null ? String(r.changedKeys) : `${r.changedKeys} of ${r.keys}`],
        ],
      };
    }),
    xAxis: {
      type: 'category',
      name: GROUP_AXIS[m.scheme],
      nameLocation: 'middle',
      nameGap: many ? 52 : 40,
      data: rows.map((r) => r.group),
      ...ax,
      axisLabel: {
        color: p.foreground,
        interval: 0,
        rotate: many ? 60 : 0,
        formatter: (v: string, i: number) => (rows[i]?.l2 === null ? `${v} (n/a)` : v),
      },
      splitLine: { show: false },
    },
    yAxis: { type: 'value', name: 'L2', ...ax, axisLabel: { color: p.foreground, formatter: (v: number) => formatNumber(v, 3) } },
    series: [
      {
        type: 'bar',
        name: 'L2',
        data: rows.map((r) => (r.l2 === null ? { value: '-' } : { value: r.l2 })),
        itemStyle: { color: p.series[0] },
        barMaxWidth: 36,
        label: { show: !many, position: 'top', color: p.foreground, formatter: (q: { value: unknown }) => (typeof q.value === 'number' ? formatNumber(q.value) : 'n/a') },
      },
    ],
  };
}

export interface HeatmapOptions extends TipOptions {
  /** pair indices to show, in order (default: all) */
  pairs?: readonly number[];
  /** pair index drawn with the accent colour */
  selected?: number;
}

/** More pairs than this are not drawn at once (cells would be too thin to read). */
export const MAX_HEATMAP_PAIRS = 60;

/** The pairs to draw when there are too many: those of models a and b first, then the rest, in matrix order. */
export function heatmapPairs(m: BreakdownMatrix, a: number, b: number, max = MAX_HEATMAP_PAIRS): number[] {
  const all = m.pairs.map((_, i) => i);
  if (all.length <= max) return all;
  const touches = (i: number) => {
    const q = m.pairs[i]!;
    return q.a === a || q.b === a || q.a === b || q.b === b;
  };
  return [...all.filter(touches), ...all.filter((i) => !touches(i))].slice(0, max).sort((x, y) => x - y);
}

/** Cell values are printed up to this many pairs shown. */
const CELL_LABEL_PAIRS = 10;

/** A size that fits the heatmap: rows of 22 px, columns of at least 26 px. */
export function breakdownHeatmapSize(m: BreakdownMatrix, pairsShown: number): { width: number; height: number } {
  return { width: Math.max(640, 160 + pairsShown * (pairsShown <= CELL_LABEL_PAIRS ? 64 : 26)), height: 200 + m.groups.length * 22 };
}

export function breakdownHeatmapOption(m: BreakdownMatrix, names: ModelNames, p: ChartPalette, opts: HeatmapOptions = {}): Record<string, unknown> {
  const shown = opts.pairs ?? m.pairs.map((_, i) => i);
  const values: [number, number, number][] = [];
  const na: [number, number, number][] = [];
  let min = Infinity;
  let max = -Infinity;
  shown.forEach((pi, x) => {
    m.groups.forEach((_, y) => {
      const v = m.l2[y]?.[pi] ?? null;
      if (v === null) na.push([x, y, 0]);
      else {
        values.push([x, y, v]);
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    });
  });
  if (!values.length) min = max = 0;
  const labels = shown.map((pi) => {
    const q = m.pairs[pi];
    return q ? `#${q.a}–#${q.b}` : String(pi);
  });
  const cellLabels = shown.length <= CELL_LABEL_PAIRS;
  const ax = axisStyle(p);
  const content = (params: unknown) => {
    const v = (params as { value: [number, number, number]; seriesIndex: number }).value;
    const pi = shown[v[0]];
    const group = m.groups[v[1]];
    if (pi === undefined || group === undefined) return null;
    const l2 = m.l2[v[1]]?.[pi] ?? null;
    return {
      title: `${group}: L2 ${formatNumber(l2, 6)}`,
      rows: [
        ['pair', pairName(m, pi, names, 40)],
        ['changed keys', String(m.changedKeys[v[1]]?.[pi] ?? 0)],
      ] as [string, string][],
    };
  };
  const sub = shown.length < m.pairs.length ? `${shown.length} of ${m.pairs.length} pairs shown` : `${m.pairs.length} pairs`;
  return {
    ...baseOption(p),
    title: titleOption(p, `L2 per ${GROUP_AXIS[m.scheme]} and pair`, `${sub}; grey = n/a${m.scheme === 'block' ? `; time_embed in ${m.timeEmbed}` : ''}`),
    // the scale sits under the x axis: keep the axis and its name above it
    grid: { top: 84, left: 12, right: 16, bottom: 64, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 4, bottom: 36 } },
    tooltip: itemTooltip(opts, content),
    xAxis: {
      type: 'category',
      name: 'pair',
      nameLocation: 'middle',
      nameGap: shown.length > CELL_LABEL_PAIRS ? 44 : 28,
      data: labels,
      ...ax,
      axisLabel: {
        interval: 0,
        rotate: shown.length > CELL_LABEL_PAIRS ? 90 : 0,
        color: p.foreground,
        // labels are "#a–#b" (no text from files), so rich-text markup is safe here
        formatter: (v: string, i: number) => (shown[i] === opts.selected ? `{sel|${v}}` : v),
        rich: { sel: { color: p.accent, fontWeight: 'bold' } },
      },
      splitArea: { show: false },
      splitLine: { show: false },
    },
    yAxis: { type: 'category', name: GROUP_AXIS[m.scheme], nameLocation: 'start', data: m.groups, inverse: true, ...ax, axisLabel: { color: p.foreground, interval: 0 }, splitLine: { show: false } },
    visualMap: heatmapScales(p, min, max, { length: 160, label: (v) => formatNumber(v) }),
    series: [
      {
        type: 'heatmap',
        name: 'L2',
        data: values,
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: { show: cellLabels, fontSize: p.fontSize - 2, formatter: (q: { value: [number, number, number] }) => formatNumber(q.value[2], 3) },
      },
      {
        type: 'heatmap',
        name: 'n/a',
        data: na,
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: { show: cellLabels, color: p.foreground, fontSize: p.fontSize - 2, formatter: () => 'n/a' },
      },
    ],
  };
}
