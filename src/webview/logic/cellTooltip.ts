/** Tooltip contents as plain text rows; the DOM layer inserts them with textContent. Pure. */
import { notComparableText, type ModelInfo } from '../../shared/result';
import type { MatrixCell } from './matrix';
import { STATUS_TEXT } from './matrix';
import type { Metric } from './types';
import { metricLabel } from './types';
import { formatInt, formatMetric } from '../../shared/format';
import { modelName } from '../../shared/text';

export interface TooltipContent {
  title: string;
  rows: [string, string][];
  /** which mark the cell carries, for styling ("identical", "na"...) */
  tone?: string;
}

export function cellTooltip(cell: MatrixCell, models: readonly ModelInfo[], component: string, metric: Metric): TooltipContent {
  const ma = models[cell.a];
  const mb = models[cell.b];
  const rows: [string, string][] = [
    ['A', ma ? modelName(cell.a, ma.file) : `#${cell.a}`],
    ['B', mb ? modelName(cell.b, mb.file) : `#${cell.b}`],
    ['component', component],
    ['status', cell.diff?.reason ? notComparableText(cell.diff) : STATUS_TEXT[cell.status]],
  ];
  const d = cell.diff;
  if (cell.kind !== 'self') {
    rows.push([metricLabel(metric), cell.kind === 'na' || cell.kind === 'absent' ? 'n/a' : formatMetric(metric, cell.value)]);
    const other: Metric = metric === 'l2' ? 'cosine' : 'l2';
    if (d) rows.push([metricLabel(other), formatMetric(other, d[other])]);
  }
  if (d) {
    rows.push(['shared keys', formatInt(d.shared)]);
    if (d.changed) rows.push(['changed keys', formatInt(d.changed)]);
    if (d.only_a) rows.push(['only in A', formatInt(d.only_a)]);
    if (d.only_b) rows.push(['only in B', formatInt(d.only_b)]);
    if (d.mismatched) rows.push(['shape mismatches', formatInt(d.mismatched)]);
    if (d.dtype_diff) rows.push(['dtype differences', formatInt(d.dtype_diff)]);
    if (d.non_finite) rows.push(['non-finite keys', formatInt(d.non_finite)]);
    if (d.bytes_only) rows.push(['compared by bytes only', formatInt(d.bytes_only)]);
  }
  const title =
    cell.kind === 'identical'
      ? '= identical'
      : cell.kind === 'equal'
        ? '=v equal values'
        : cell.kind === 'same'
          ? '≈ same delta (equal to float rounding)'
        : cell.kind === 'na'
          ? 'n/a: not comparable'
          : cell.kind === 'absent'
            ? '– component absent'
            : cell.kind === 'self'
              ? 'same model'
              : `${metricLabel(metric)} ${formatMetric(metric, cell.value)}`;
  return { title, rows, tone: cell.kind };
}
