/**
 * The distance-matrix heatmap of one component (echarts), with an accessible table twin that carries the same marks
 * ("=" identical, "=v" equal values, "n/a" not comparable, "–" absent) for screen readers and tests.
 */
import type { CompareResult } from '../../../shared/result';
import type { DistanceMatrix, MatrixCell } from '../../logic/matrix';
import { cellMark, matrixTable } from '../../logic/matrix';
import { mix, readableOn, scaleIndex, sequentialScale, toCss } from '../../logic/color';
import type { Rgba } from '../../logic/color';
import { cellTooltip } from '../../logic/cellTooltip';
import { slug } from '../../logic/labels';
import { metricLabel } from '../../logic/types';
import { toCsv } from '../../../shared/csv';
import type { Theme } from '../../shared/theme';
import { ChartCard, button } from '../../shared/chartCard';
import type { Exporter } from '../../shared/chartCard';
import { tooltipBase, tooltipElement } from '../../shared/tooltipElement';
import { h, replaceChildren } from '../../shared/dom';
import type { EChartsOption } from '../../shared/echarts';
import { publishCellGeometry } from '../../shared/cellGeometry';
import { modelName } from '../../../shared/text';
import { formatNumber } from '../../../shared/format';

export const SCALE_STEPS = 64;
const SPECIAL = { identical: SCALE_STEPS, equal: SCALE_STEPS + 1, na: SCALE_STEPS + 2, absent: SCALE_STEPS + 3, self: SCALE_STEPS + 4 } as const;

export interface HeatmapPalette {
  scale: Rgba[];
  identical: Rgba;
  equal: Rgba;
  na: Rgba;
  absent: Rgba;
  self: Rgba;
}

export function heatmapPalette(t: Theme): HeatmapPalette {
  const { bg, fg, blue, green } = t.rgb;
  const hc = t.kind === 'hc' || t.kind === 'hc-light';
  return {
    scale: sequentialScale(mix(bg, blue, hc ? 0.25 : 0.12), blue, SCALE_STEPS),
    identical: green,
    equal: mix(bg, green, 0.55),
    na: mix(bg, fg, 0.32),
    absent: mix(bg, fg, 0.06),
    self: mix(bg, fg, 0.14),
  };
}

export function cellColorIndex(c: MatrixCell, m: DistanceMatrix): number {
  if (c.kind === 'value') return scaleIndex(c.distance ?? 0, m.min ?? 0, m.max ?? 0, SCALE_STEPS);
  return SPECIAL[c.kind];
}

export function cellColor(c: MatrixCell, m: DistanceMatrix, p: HeatmapPalette): Rgba {
  const i = cellColorIndex(c, m);
  if (i < SCALE_STEPS) return p.scale[i]!;
  return c.kind === 'identical' ? p.identical : c.kind === 'equal' ? p.equal : c.kind === 'na' ? p.na : c.kind === 'self' ? p.self : p.absent;
}

const LABEL_LIMIT = 16;

export function heatmapOption(result: CompareResult, m: DistanceMatrix, theme: Theme, focusModel: number | null): EChartsOption {
  const p = heatmapPalette(theme);
  const n = m.n;
  const labels = result.models.map((mo, i) => modelName(i, mo.file, n > 12 ? 14 : 22));
  const data: unknown[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const c = m.cells[a]![b]!;
      const color = cellColor(c, m, p);
      data.push({
        value: [b, a, cellColorIndex(c, m)],
        label: { color: toCss(readableOn(color, [theme.rgb.fg, theme.rgb.bg, { r: 0, g: 0, b: 0, a: 1 }, { r: 255, g: 255, b: 255, a: 1 }])) },
      });
    }
  }
  const pieces = [
    ...p.scale.map((c, i) => ({ value: i, color: toCss(c) })),
    { value: SPECIAL.identical, color: toCss(p.identical) },
    { value: SPECIAL.equal, color: toCss(p.equal) },
    { value: SPECIAL.na, color: toCss(p.na) },
    { value: SPECIAL.absent, color: toCss(p.absent) },
    { value: SPECIAL.self, color: toCss(p.self) },
  ];
  const axisLabelColor = (_v: unknown, i?: number) => (i === focusModel ? theme.focus : theme.fg);
  const font = theme.fontFamily.replace(/"/g, "'");
  const cellAt = (v: unknown) => {
    const [b, a] = v as [number, number];
    return m.cells[a]?.[b];
  };
  return {
    animation: false,
    textStyle: { fontFamily: font, color: theme.fg },
    grid: { top: 10, left: 8, right: 12, bottom: 8, outerBoundsMode: 'auto', outerBounds: { left: 4, right: 8, top: 4, bottom: 4 } },
    xAxis: {
      type: 'category',
      data: labels,
      position: 'top',
      axisLabel: { rotate: n > 4 ? 40 : 0, color: axisLabelColor, fontSize: 11, interval: 0, hideOverlap: n > 30 },
      axisLine: { lineStyle: { color: theme.grid } },
      axisTick: { show: false },
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      data: labels,
      inverse: true,
      axisLabel: { color: axisLabelColor, fontSize: 11, interval: 0, hideOverlap: n > 30 },
      axisLine: { lineStyle: { color: theme.grid } },
      axisTick: { show: false },
    },
    visualMap: { type: 'piecewise', show: false, dimension: 2, seriesIndex: 0, pieces },
    tooltip: {
      ...tooltipBase(),
      trigger: 'item',
      formatter: (params: unknown) => {
        const c = cellAt((params as { value: unknown }).value);
        return c ? tooltipElement(cellTooltip(c, result.models, m.component, m.metric)) : '';
      },
    },
    series: [
      {
        type: 'heatmap',
        data,
        progressive: 0,
        itemStyle: { borderColor: theme.bg, borderWidth: n > 40 ? 0 : 1 },
        emphasis: { itemStyle: { borderColor: theme.focus, borderWidth: 2 } },
        label: {
          show: n <= LABEL_LIMIT,
          fontSize: n <= 8 ? 12 : 10,
          formatter: (params: unknown) => {
            const c = cellAt((params as { value: unknown }).value);
            return c ? cellMark(c, (v) => formatNumber(v, 3)) : '';
          },
        },
      },
    ],
  };
}

/** The legend under the heatmap: the scale's extent and the special marks. Built with DOM, coloured through CSSOM. */
function legend(m: DistanceMatrix, p: HeatmapPalette): HTMLElement {
  const swatch = (c: Rgba, mark: string, text: string, kind: string) => {
    const s = h('span', { class: 'md-swatch', attrs: { 'aria-hidden': 'true' } }, mark);
    s.style.backgroundColor = toCss(c);
    s.style.color = toCss(readableOn(c, [{ r: 0, g: 0, b: 0, a: 1 }, { r: 255, g: 255, b: 255, a: 1 }]));
    return h('span', { class: 'md-legend-item', dataset: { kind } }, s, text);
  };
  const grad = h('span', { class: 'md-gradient', attrs: { 'aria-hidden': 'true' } });
  grad.style.backgroundImage = `linear-gradient(to right, ${toCss(p.scale[0]!)}, ${toCss(p.scale[p.scale.length - 1]!)})`;
  const dist = m.metric === 'l2' ? 'L2' : '1 − cosine';
  return h(
    'div',
    { class: 'md-legend' },
    h(
      'span',
      { class: 'md-legend-item' },
      m.min === null ? 'no distances' : formatNumber(m.min),
      grad,
      m.max === null ? '' : formatNumber(m.max),
      h('span', { class: 'md-muted' }, ` (${dist})`),
    ),
    swatch(p.identical, '=', 'identical', 'identical'),
    swatch(p.equal, '=v', 'equal values', 'equal'),
    swatch(p.na, 'n/a', 'not comparable', 'na'),
    swatch(p.absent, '–', 'absent', 'absent'),
  );
}

export class HeatmapCard {
  readonly card: ChartCard;
  private readonly legendEl = h('div', { class: 'md-legend-wrap' });
  private readonly tableWrap = h('div', { class: 'md-matrix-wrap md-sr-only', id: 'matrix-table-wrap' });
  private showTable = false;
  private result: CompareResult | null = null;
  private matrix: DistanceMatrix | null = null;

  constructor(
    exporter: Exporter,
    private readonly theme: () => Theme,
    private readonly onPick: (a: number, b: number) => void,
  ) {
    this.card = new ChartCard('Distance matrix', () => this.exportName(), exporter, () => this.theme().bg, { id: 'heatmap-card', chartClass: 'md-chart-square' });
    this.card.chartEl.id = 'heatmap';
    const toggle = button('Table', () => {
      this.showTable = !this.showTable;
      this.tableWrap.classList.toggle('md-sr-only', !this.showTable);
      toggle.setAttribute('aria-pressed', String(this.showTable));
    }, { title: 'Show the matrix as a table' });
    toggle.setAttribute('aria-pressed', 'false');
    this.card.addTools(
      toggle,
      button('CSV', () => void this.exportCsv(exporter), { title: 'Export the matrix as CSV' }),
    );
    this.card.body.append(this.legendEl, this.tableWrap);
  }

  private exportName(): string {
    return this.matrix ? slug(`matrix-${this.matrix.component}-${this.matrix.metric}`) : 'matrix';
  }

  private async exportCsv(exporter: Exporter): Promise<void> {
    if (!this.result || !this.matrix) return;
    const labels = this.result.models.map((mo, i) => modelName(i, mo.file));
    const t = matrixTable(this.matrix, labels);
    await exporter(`${this.exportName()}.csv`, 'csv', toCsv(t.header, t.rows));
  }

  render(result: CompareResult, m: DistanceMatrix, focusModel: number | null): void {
    this.result = result;
    this.matrix = m;
    const theme = this.theme();
    this.card.setTitle(`Distance matrix: ${m.component}, ${metricLabel(m.metric)}`);
    this.card.setOption(heatmapOption(result, m, theme, focusModel));
    const chart = this.card.chart!;
    chart.off('click');
    publishCellGeometry(chart, this.card.chartEl);
    chart.on('click', (params: unknown) => {
      const v = (params as { value?: unknown }).value as number[] | undefined;
      if (v && v[0] !== v[1]) this.onPick(v[1]!, v[0]!);
    });
    replaceChildren(this.legendEl, legend(m, heatmapPalette(theme)));
    this.renderTable(result, m, focusModel);
  }

  private renderTable(result: CompareResult, m: DistanceMatrix, focusModel: number | null): void {
    const labels = result.models.map((mo, i) => modelName(i, mo.file));
    const head = h('tr', null, h('th', { attrs: { scope: 'col' } }, 'model'), ...labels.map((l) => h('th', { attrs: { scope: 'col' } }, l)));
    const rows = m.cells.map((row, a) =>
      h(
        'tr',
        { class: a === focusModel ? 'md-focus' : '' },
        h('th', { attrs: { scope: 'row' } }, labels[a]!),
        ...row.map((c) =>
          h(
            'td',
            {
              class: `md-cell md-cell-${c.kind}`,
              dataset: { a: String(c.a), b: String(c.b), kind: c.kind, status: String(c.status) },
              title: c.kind === 'value' ? String(c.value) : c.kind,
              attrs: c.a !== c.b ? { tabindex: 0 } : {},
              on:
                c.a !== c.b
                  ? {
                      click: () => this.onPick(c.a, c.b),
                      keydown: (e) => {
                        const k = (e as KeyboardEvent).key;
                        if (k === 'Enter' || k === ' ') {
                          e.preventDefault();
                          this.onPick(c.a, c.b);
                        }
                      },
                    }
                  : {},
            },
            cellMark(c, (v) => formatNumber(v, 4)),
          ),
        ),
      ),
    );
    replaceChildren(
      this.tableWrap,
      h('table', { class: 'md-matrix', id: 'matrix-table', attrs: { 'aria-label': `Distance matrix of ${m.component} (${metricLabel(m.metric)})` } }, h('thead', null, head), h('tbody', null, ...rows)),
    );
  }

  resize(): void {
    this.card.chart?.resize();
  }
}
