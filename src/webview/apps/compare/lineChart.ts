/** The notebook's `plotline`: the metric from one reference model to every model, in model order. */
import type { CompareResult } from '../../../shared/result';
import type { DistanceMatrix } from '../../logic/matrix';
import { STATUS_TEXT } from '../../logic/matrix';
import { distancesFrom } from '../../logic/pair';
import { metricLabel } from '../../logic/types';
import type { Theme } from '../../shared/theme';
import { tooltipBase, tooltipElement } from '../../shared/tooltipElement';
import type { EChartsOption } from '../../shared/echarts';
import { formatMetric, formatNumber } from '../../../shared/format';
import { modelName } from '../../../shared/text';

/** Past this many models the x axis names only about this many of them. */
export const LINE_LABELS = 30;

/** echarts' axisLabel.interval: names shown every (interval + 1) models; 0 names each. */
export function labelInterval(n: number): number {
  return n > 2 * LINE_LABELS ? Math.ceil(n / LINE_LABELS) - 1 : 0;
}

export function lineOption(result: CompareResult, m: DistanceMatrix, ref: number, theme: Theme): EChartsOption {
  const row = m.cells[ref] ?? [];
  const values = distancesFrom(row, m.metric);
  const labels = result.models.map((mo, i) => modelName(i, mo.file, 16));
  const font = theme.fontFamily.replace(/"/g, "'");
  const refModel = result.models[ref];
  return {
    animation: false,
    textStyle: { fontFamily: font, color: theme.fg },
    grid: { top: 24, left: 12, right: 24, bottom: 8, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 16, top: 4, bottom: 4 } },
    xAxis: {
      type: 'category',
      data: labels,
      name: 'model',
      nameTextStyle: { color: theme.muted },
      // many models: every k-th name (about LINE_LABELS of them; echarts' 'auto' still let slanted names overlap at
      // 232), the rest in the tooltip
      axisLabel: {
        color: (_v: unknown, i?: number) => (i === ref ? theme.focus : theme.fg),
        rotate: labels.length > 6 ? 35 : 0,
        interval: labelInterval(labels.length),
        hideOverlap: labels.length > 30,
      },
      axisLine: { lineStyle: { color: theme.grid } },
    },
    yAxis: {
      type: 'value',
      name: metricLabel(m.metric),
      scale: m.metric === 'cosine',
      nameTextStyle: { color: theme.muted },
      axisLabel: { color: theme.fg, formatter: (v: number) => formatNumber(v, 3) },
      splitLine: { lineStyle: { color: theme.grid } },
    },
    tooltip: {
      ...tooltipBase(),
      trigger: 'axis',
      formatter: (params: unknown) => {
        const p = (Array.isArray(params) ? params[0] : params) as { dataIndex: number } | undefined;
        if (!p) return '';
        const c = row[p.dataIndex];
        const mo = result.models[p.dataIndex];
        return tooltipElement({
          title: mo ? modelName(p.dataIndex, mo.file) : `#${p.dataIndex}`,
          rows: [
            ['from', refModel ? modelName(ref, refModel.file) : `#${ref}`],
            [metricLabel(m.metric), c && (c.kind === 'na' || c.kind === 'absent') ? 'n/a' : formatMetric(m.metric, values[p.dataIndex])],
            ['status', c ? STATUS_TEXT[c.status] : ''],
          ],
          tone: c?.kind,
        });
      },
    },
    series: [
      {
        type: 'line',
        name: metricLabel(m.metric),
        data: values.map((v, i) => ({
          value: v,
          symbol: row[i]?.kind === 'identical' || row[i]?.kind === 'equal' ? 'diamond' : 'circle',
          symbolSize: i === ref ? 10 : 7,
        })),
        connectNulls: false,
        lineStyle: { color: theme.blue, width: 2 },
        itemStyle: { color: theme.blue },
      },
    ],
  };
}
