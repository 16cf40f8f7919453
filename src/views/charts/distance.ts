/**
 * The distance matrix of one component as an echarts heatmap option (the CLI's SVG figure; pure, no DOM).
 * Identical pairs are labelled "=", equal values "=v"; pairs without a distance (absent, not comparable) are grey
 * "n/a" cells, never 0.
 */
import { pairIndex, type CompareResult } from '../../shared/result';
import { axisStyle, baseOption, heatmapScales, titleOption, type ChartPalette } from './palette';
import { chartNumber, modelName } from './text';

export type DistanceMetric = 'l2' | 'cosine';

export interface DistanceCell {
  a: number;
  b: number;
  value: number | null;
  /** 'identical' | 'equal' | 'value' | 'na' */
  kind: 'identical' | 'equal' | 'value' | 'na';
}

/** Every off-diagonal cell of the component's matrix (both triangles). */
export function distanceCells(result: CompareResult, component: string, metric: DistanceMetric): DistanceCell[] {
  const n = result.models.length;
  const cells: DistanceCell[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      const c = result.pairs[pairIndex(a, b, n)]?.components[component as keyof CompareResult['pairs'][number]['components']];
      const value = c ? (metric === 'l2' ? c.l2 : c.cosine) : null;
      const kind = !c || value === null ? 'na' : c.status === 'identical' ? 'identical' : c.status === 'equal_values' ? 'equal' : 'value';
      cells.push({ a, b, value: kind === 'na' ? null : value, kind });
    }
  }
  return cells;
}

/** Cell labels are printed up to this many models. */
const CELL_LABEL_MODELS = 16;

export function distanceHeatmapSize(models: number): { width: number; height: number } {
  const cell = models <= CELL_LABEL_MODELS ? 48 : Math.max(8, Math.floor(900 / models));
  return { width: 260 + models * cell, height: 230 + models * cell };
}

export function distanceHeatmapOption(result: CompareResult, component: string, metric: DistanceMetric, p: ChartPalette): Record<string, unknown> {
  const n = result.models.length;
  const cells = distanceCells(result, component, metric);
  const values = cells.filter((c) => c.kind !== 'na');
  const nums = values.map((c) => c.value!);
  const min = nums.length ? Math.min(...nums) : 0;
  const max = nums.length ? Math.max(...nums) : 1;
  const names = result.models.map((m, i) => modelName(i, m.file, 28));
  const labels = n <= CELL_LABEL_MODELS;
  const metricName = metric === 'l2' ? 'L2 distance' : 'cosine similarity';
  const ax = axisStyle(p);
  return {
    ...baseOption(p),
    title: titleOption(p, `${metricName} of ${component}`, `${n} models; "=" identical, "=v" equal values, grey = n/a (absent or not comparable)`),
    grid: { top: 150, left: 12, right: 16, bottom: 56, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 60, bottom: 40 } },
    xAxis: { type: 'category', data: names, position: 'top', ...ax, axisLabel: { color: p.foreground, interval: 0, rotate: 45 }, splitLine: { show: false } },
    yAxis: { type: 'category', data: names, inverse: true, ...ax, axisLabel: { color: p.foreground, interval: 0 }, splitLine: { show: false } },
    visualMap: heatmapScales(p, min, max, { length: 200, label: (v) => chartNumber(v), colors: metric === 'cosine' ? p.sequential.slice().reverse() : p.sequential }),
    series: [
      {
        type: 'heatmap',
        name: metricName,
        data: values.map((c) => [c.b, c.a, c.value!, c.kind === 'identical' ? 1 : c.kind === 'equal' ? 2 : 0]),
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: {
          show: labels,
          fontSize: p.fontSize - 3,
          formatter: (q: { value: [number, number, number, number] }) => (q.value[3] === 1 ? '=' : q.value[3] === 2 ? '=v' : chartNumber(q.value[2], 3)),
        },
      },
      {
        type: 'heatmap',
        name: 'n/a',
        data: cells.filter((c) => c.kind === 'na').map((c) => [c.b, c.a, 0]),
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: { show: labels, fontSize: p.fontSize - 3, color: p.foreground, formatter: () => 'n/a' },
      },
    ],
  };
}
