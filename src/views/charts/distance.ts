/**
 * The distance matrix of one component as an echarts heatmap option (the CLI's SVG figure; pure, no DOM). Cells are
 * classified and marked as in the panel (src/shared/distanceCell.ts): identical "=", equal values "=v"; cells without
 * a distance are grey, "n/a" (not comparable) or "–" (absent), never 0.
 */
import { CELL_LEGEND, cellMark, classifyDiff, type CellKind, type DistanceMetric } from '../../shared/distanceCell';
import { pairIndex, type CompareResult } from '../../shared/result';
import { axisStyle, baseOption, heatmapScales, titleOption, type ChartPalette } from './palette';
import { formatNumber } from '../../shared/format';
import { modelName } from '../../shared/text';

export type { DistanceMetric };

export interface DistanceCell {
  a: number;
  b: number;
  value: number | null;
  kind: Exclude<CellKind, 'self'>;
}

/** A cell drawn with a colour: it has a distance. */
const drawn = (c: DistanceCell) => c.kind === 'identical' || c.kind === 'equal' || c.kind === 'same' || c.kind === 'value';

/** Every off-diagonal cell of the component's matrix (both triangles). */
export function distanceCells(result: CompareResult, component: string, metric: DistanceMetric): DistanceCell[] {
  const n = result.models.length;
  const cells: DistanceCell[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      const { kind, value } = classifyDiff(result.pairs[pairIndex(a, b, n)]?.components[component], metric);
      cells.push({ a, b, value, kind });
    }
  }
  return cells;
}

/** The kinds of the grey cells, by their index in a data item. */
const NO_VALUE_KINDS: readonly Exclude<CellKind, 'self'>[] = ['na', 'absent', 'identical', 'equal', 'value'];

/** Cell labels are printed up to this many models. */
const CELL_LABEL_MODELS = 16;

export function distanceHeatmapSize(models: number): { width: number; height: number } {
  const cell = models <= CELL_LABEL_MODELS ? 48 : Math.max(8, Math.floor(900 / models));
  return { width: 260 + models * cell, height: 230 + models * cell };
}

export function distanceHeatmapOption(result: CompareResult, component: string, metric: DistanceMetric, p: ChartPalette): Record<string, unknown> {
  const n = result.models.length;
  const cells = distanceCells(result, component, metric);
  const values = cells.filter((c) => drawn(c) && c.value !== null);
  const drawnCells = new Set(values);
  const nums = values.map((c) => c.value!);
  const min = nums.length ? Math.min(...nums) : 0;
  const max = nums.length ? Math.max(...nums) : 1;
  const names = result.models.map((m, i) => modelName(i, m.file, 28));
  const labels = n <= CELL_LABEL_MODELS;
  const metricName = metric === 'l2' ? 'L2 distance' : 'cosine similarity';
  const ax = axisStyle(p);
  return {
    ...baseOption(p),
    title: titleOption(p, `${metricName} of ${component}`, `${n} models; ${CELL_LEGEND}`),
    grid: { top: 150, left: 12, right: 16, bottom: 56, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 60, bottom: 40 } },
    xAxis: { type: 'category', data: names, position: 'top', ...ax, axisLabel: { color: p.foreground, interval: 0, rotate: 45 }, splitLine: { show: false } },
    yAxis: { type: 'category', data: names, inverse: true, ...ax, axisLabel: { color: p.foreground, interval: 0 }, splitLine: { show: false } },
    visualMap: heatmapScales(p, min, max, { length: 200, label: (v) => formatNumber(v), colors: metric === 'cosine' ? p.sequential.slice().reverse() : p.sequential }),
    series: [
      {
        type: 'heatmap',
        name: metricName,
        data: values.map((c) => [c.b, c.a, c.value!, c.kind === 'identical' ? 1 : c.kind === 'equal' ? 2 : c.kind === 'same' ? 3 : 0]),
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: {
          show: labels,
          fontSize: p.fontSize - 3,
          formatter: (q: { value: [number, number, number, number] }) => cellMark(q.value[3] === 1 ? 'identical' : q.value[3] === 2 ? 'equal' : q.value[3] === 3 ? 'same' : 'value', q.value[2], (v) => formatNumber(v, 3)),
        },
      },
      {
        type: 'heatmap',
        name: 'no distance',
        // the cells without a distance: not comparable, absent, or an identical pair without a value of this metric
        data: cells.filter((c) => !drawnCells.has(c)).map((c) => [c.b, c.a, 0, NO_VALUE_KINDS.indexOf(c.kind)]),
        progressive: 0,
        itemStyle: { borderColor: p.background, borderWidth: 1 },
        label: { show: labels, fontSize: p.fontSize - 3, color: p.foreground, formatter: (q: { value: [number, number, number, number] }) => cellMark(NO_VALUE_KINDS[q.value[3]] ?? 'na', null, String) },
      },
    ],
  };
}
