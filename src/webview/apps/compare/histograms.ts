/**
 * Per-component histograms of a pair's per-layer L2 distances with a log y axis, stacked like the notebook's subplots
 * (titled "component: L2=…").
 */
import type { LayerRowMessage } from '../../../shared/protocol';
import type { PairResult } from '../../../shared/result';
import { binValues, logCounts } from '../../logic/histogram';
import { layersByComponent } from '../../logic/pair';
import type { Theme } from '../../shared/theme';
import { tooltipBase, tooltipElement } from '../../shared/tooltipElement';
import type { EChartsOption } from '../../shared/echarts';
import { formatDistance, formatInt, formatNumber } from '../../../shared/format';

export const HIST_HEIGHT = 220;

export function histogramOption(rows: readonly LayerRowMessage[], order: readonly string[], pair: PairResult | undefined, theme: Theme): { option: EChartsOption; count: number } {
  const groups = [...layersByComponent(rows, order)];
  const font = theme.fontFamily.replace(/"/g, "'");
  const titles: unknown[] = [];
  const grids: unknown[] = [];
  const xAxes: unknown[] = [];
  const yAxes: unknown[] = [];
  const series: unknown[] = [];
  groups.forEach(([component, values], i) => {
    const hist = binValues(values);
    const top = i * HIST_HEIGHT;
    const l2 = pair?.components[component]?.l2;
    const excluded = hist.excluded ? `, ${hist.excluded} n/a` : '';
    const same = hist.n > 0 && hist.min === hist.max ? ` · every layer at ${formatNumber(hist.min)}` : '';
    titles.push({
      text: `${component}: L2 ${formatDistance(l2)}`,
      subtext: `${formatInt(hist.n)} layers${excluded}${same} · log scale`,
      top,
      left: 8,
      itemGap: 2,
      textStyle: { color: theme.fg, fontSize: 12, fontFamily: font },
      subtextStyle: { color: theme.muted, fontSize: 11, fontFamily: font },
    });
    grids.push({ top: top + 50, height: HIST_HEIGHT - 92, left: 56, right: 20 });
    const centers = hist.counts.map((_, k) => (hist.edges[k]! + hist.edges[k + 1]!) / 2);
    xAxes.push({
      type: 'value',
      gridIndex: i,
      name: 'L2',
      nameGap: 8,
      nameTextStyle: { color: theme.muted },
      // one distinct value (e.g. an identical component, every layer at 0): a narrow bar on a short axis from 0
      min: hist.min === null ? 0 : hist.max === hist.min ? Math.min(0, hist.min * 2) : hist.min,
      max: hist.max === null ? 1 : hist.max === hist.min ? Math.max(1, hist.max * 2) : hist.max,
      axisLabel: { color: theme.fg, formatter: (v: number) => formatNumber(v, 3), hideOverlap: true },
      axisLine: { lineStyle: { color: theme.grid } },
      splitLine: { show: false },
    });
    yAxes.push({
      type: 'log',
      logBase: 10,
      gridIndex: i,
      min: 0.8,
      axisLabel: { color: theme.fg, formatter: (v: number) => (v >= 1 ? formatInt(Math.round(v)) : '') },
      splitLine: { lineStyle: { color: theme.grid } },
    });
    const counts = logCounts(hist);
    series.push({
      type: 'bar',
      name: component,
      xAxisIndex: i,
      yAxisIndex: i,
      barWidth: hist.counts.length === 1 ? 14 : '90%',
      barMinHeight: 1,
      data: centers.map((c, k) => [c, counts[k]]),
      itemStyle: { color: theme.blue },
      tooltip: {
        formatter: (p: unknown) => {
          const k = (p as { dataIndex: number }).dataIndex;
          return tooltipElement({
            title: component,
            rows: [
              ['L2 from', formatDistance(hist.edges[k])],
              ['L2 to', formatDistance(hist.edges[k + 1])],
              ['layers', formatInt(hist.counts[k] ?? 0)],
            ],
          });
        },
      },
    });
  });
  return {
    count: groups.length,
    option: {
      animation: false,
      textStyle: { fontFamily: font, color: theme.fg },
      title: titles,
      grid: grids,
      xAxis: xAxes,
      yAxis: yAxes,
      tooltip: { ...tooltipBase(), trigger: 'item' },
      series,
    },
  };
}
