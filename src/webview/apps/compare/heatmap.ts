/**
 * The distance-matrix heatmap of one component (echarts), with an accessible table twin that carries the same marks
 * ("=" identical, "=v" equal values, "n/a" not comparable, "–" absent) for screen readers and tests.
 *
 * Rows and columns are in file order or in cluster order (seriation: the average-linkage dendrogram's leaves in
 * optimal order, the dendrogram drawn beside the rows); the colours follow a linear, log or rank scale. `#heatmap`
 * publishes what is drawn: data-order (model indexes, top to bottom), data-order-mode (cluster|file), data-scale
 * (linear|log|rank), data-dendrogram (shown|none), data-cells (elements|bitmap), besides data-cell-origin /
 * data-cell-step (cellGeometry.ts).
 */
import type { CompareResult } from '../../../shared/result';
import type { DistanceMatrix, MatrixCell } from '../../logic/matrix';
import { cellMark, matrixTable } from '../../logic/matrix';
import { mix, readableOn, sequentialScale, toCss } from '../../logic/color';
import type { Rgba } from '../../logic/color';
import { defaultScale, makeScale, SCALE_KINDS, SCALE_LABEL } from '../../logic/colorScale';
import type { DistanceScale, ScaleKind } from '../../logic/colorScale';
import { CLUSTER_ORDER_FROM, fileOrder, ORDER_LABEL } from '../../logic/seriation';
import type { OrderMode, Seriation } from '../../logic/seriation';
import { cellTooltip } from '../../logic/cellTooltip';
import { slug } from '../../logic/labels';
import { metricLabel } from '../../logic/types';
import { toCsv } from '../../../shared/csv';
import { modelName } from '../../../shared/text';
import { formatMetric, formatNumber } from '../../../shared/format';
import { dendrogramLayout } from '../../../views/charts/dendrogram';
import type { Theme } from '../../shared/theme';
import { ChartCard, button } from '../../shared/chartCard';
import type { Exporter } from '../../shared/chartCard';
import { select } from '../../shared/controls';
import { tooltipBase, tooltipElement } from '../../shared/tooltipElement';
import { h, replaceChildren } from '../../shared/dom';
import type { EChartsOption } from '../../shared/echarts';
import { publishCellGeometry } from '../../shared/cellGeometry';

export const SCALE_STEPS = 64;
// a LoRA pair with the same delta (to float rounding) is coloured as equal values; its mark is its own (≈)
const SPECIAL = { identical: SCALE_STEPS, equal: SCALE_STEPS + 1, same: SCALE_STEPS + 1, na: SCALE_STEPS + 2, absent: SCALE_STEPS + 3, self: SCALE_STEPS + 4 } as const;
/** Cell marks are printed up to this many models. */
const LABEL_LIMIT = 16;
/** The table twin is built with the chart up to this many models; past it, when the Table button asks for it. */
const TABLE_EAGER_LIMIT = 40;
/** Width kept right of the cells for the dendrogram, in px. */
const DENDROGRAM_WIDTH = 110;
/**
 * Past this many models the cells are one bitmap (an image on the chart's grid) instead of one echarts element each:
 * 232 models are 53,824 cells, 1,000 models a million. Tooltip and click then come from the pointer's position.
 */
export const BITMAP_FROM = 64;

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

/** The scale of a matrix's drawn distances (the plain values; identical and equal cells have their own colours). */
export function matrixScale(m: DistanceMatrix, kind: ScaleKind): DistanceScale {
  return makeScale(kind, matrixDistances(m));
}

export function matrixDistances(m: DistanceMatrix): number[] {
  const out: number[] = [];
  for (let a = 0; a < m.n; a++)
    for (let b = a + 1; b < m.n; b++) {
      const c = m.cells[a]![b]!;
      if (c.kind === 'value' && c.distance !== null) out.push(c.distance);
    }
  return out;
}

export function cellColorIndex(c: MatrixCell, scale: DistanceScale): number {
  if (c.kind === 'value') return Math.min(SCALE_STEPS - 1, Math.max(0, Math.round(scale.position(c.distance ?? 0) * (SCALE_STEPS - 1))));
  return SPECIAL[c.kind];
}

export function cellColor(c: MatrixCell, scale: DistanceScale, p: HeatmapPalette): Rgba {
  const i = cellColorIndex(c, scale);
  if (i < SCALE_STEPS) return p.scale[i]!;
  return c.kind === 'identical' ? p.identical : c.kind === 'equal' || c.kind === 'same' ? p.equal : c.kind === 'na' ? p.na : c.kind === 'self' ? p.self : p.absent;
}

export interface HeatmapView {
  /** model indexes, top to bottom (and left to right) */
  order: number[];
  scale: DistanceScale;
  /** drawn beside the rows in cluster order */
  seriation: Seriation | null;
  /** the cells as one image, for BITMAP_FROM models and more (a canvas: no image is loaded, whatever img-src allows) */
  bitmap?: HTMLCanvasElement;
  /** about how tall the rows are drawn, in px (for how many row names fit) */
  rowsHeight?: number;
}

export function heatmapOption(result: CompareResult, m: DistanceMatrix, theme: Theme, focusModel: number | null, view: HeatmapView = { order: fileOrder(m.n), scale: matrixScale(m, 'linear'), seriation: null }): EChartsOption {
  const p = heatmapPalette(theme);
  const n = m.n;
  const { order, scale } = view;
  // the extension says nothing that tells models apart: left out of the axis names (tooltips give the whole name)
  const labels = order.map((i) => modelName(i, (result.models[i]?.file ?? '').replace(/\.(safetensors|ckpt|pth?|bin|gguf)$/i, ''), n > 12 ? 14 : 22));
  const marks = n <= LABEL_LIMIT;
  const bitmap = view.bitmap;
  const data: unknown[] = [];
  if (!bitmap) for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      const c = m.cells[order[r]!]![order[col]!]!;
      if (!marks) {
        data.push([col, r, cellColorIndex(c, scale)]);
        continue;
      }
      const color = cellColor(c, scale, p);
      data.push({
        value: [col, r, cellColorIndex(c, scale)],
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
  const focusPos = focusModel === null ? -1 : order.indexOf(focusModel);
  const axisLabelColor = (_v: unknown, i?: number) => (i === focusPos ? theme.focus : theme.fg);
  const font = theme.fontFamily.replace(/"/g, "'");
  const cellAt = (v: unknown) => {
    const [col, r] = v as [number, number];
    const a = order[r];
    const b = order[col];
    return a === undefined || b === undefined ? undefined : m.cells[a]?.[b];
  };
  const dendrogram = view.seriation ? dendrogramSeries(view.seriation, n, theme, scale) : null;
  return {
    animation: false,
    textStyle: { fontFamily: font, color: theme.fg },
    grid: {
      top: 10,
      left: 8,
      right: dendrogram ? DENDROGRAM_WIDTH + 8 : 12,
      bottom: 8,
      outerBoundsMode: 'auto',
      outerBounds: { left: 4, right: dendrogram ? DENDROGRAM_WIDTH + 4 : 8, top: 4, bottom: 4 },
    },
    xAxis: {
      type: 'category',
      data: labels,
      position: 'top',
      // past BITMAP_FROM models the column names would be a thicket: the rows name the same models
      axisLabel: { show: !bitmap, rotate: n > 4 ? 40 : 0, color: axisLabelColor, fontSize: 11, interval: 0, hideOverlap: n > 30 },
      axisLine: { lineStyle: { color: theme.grid } },
      axisTick: { show: false },
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      data: labels,
      inverse: true,
      // bitmap mode: every k-th name, k from the rows' height (echarts' 'auto' would measure all of them)
      axisLabel: { color: axisLabelColor, fontSize: 11, interval: bitmap ? Math.max(0, Math.ceil((14 * n) / Math.max(1, (view.rowsHeight ?? 600))) - 1) : 0, hideOverlap: n > 30 && !bitmap },
      axisLine: { lineStyle: { color: theme.grid } },
      axisTick: { show: false },
    },
    ...(bitmap ? {} : { visualMap: { type: 'piecewise', show: false, dimension: 2, seriesIndex: 0, pieces } }),
    tooltip: {
      ...tooltipBase(),
      trigger: 'item',
      formatter: (params: unknown) => {
        const q = params as { seriesType?: string; value: unknown; dataIndex: number };
        if (q.seriesType === 'custom') return dendrogram && (q as { seriesName?: string }).seriesName === 'dendrogram' ? tooltipElement(dendrogram.tip(q.dataIndex)) : '';
        const c = cellAt(q.value);
        return c ? tooltipElement(cellTooltip(c, result.models, m.component, m.metric)) : '';
      },
    },
    series: [
      bitmap ? bitmapSeries(bitmap) : {
        type: 'heatmap',
        data,
        progressive: 0,
        itemStyle: { borderColor: theme.bg, borderWidth: n > 40 ? 0 : 1 },
        emphasis: { itemStyle: { borderColor: theme.focus, borderWidth: 2 } },
        label: {
          show: marks,
          fontSize: n <= 8 ? 12 : 10,
          formatter: (params: unknown) => {
            const c = cellAt((params as { value: unknown }).value);
            return c ? cellMark(c, (v) => formatNumber(v, 3)) : '';
          },
        },
      },
      ...(dendrogram ? [dendrogram.series] : []),
    ],
  };
}

/** The cells as one image filling the grid (nearest-neighbour scaled when it was painted: see paintCells). */
function bitmapSeries(image: HTMLCanvasElement): Record<string, unknown> {
  return {
    type: 'custom',
    name: 'cells',
    coordinateSystem: 'cartesian2d',
    silent: true,
    data: [[0, 0]],
    renderItem: (params: { coordSys: { x: number; y: number; width: number; height: number } }) => {
      const cs = params.coordSys;
      return { type: 'image', style: { image, x: cs.x, y: cs.y, width: cs.width, height: cs.height } };
    },
    z: 2,
  };
}

/**
 * Paints the cells into a canvas of `px` pixels a side, each cell an exact block (no smoothing between cells): at 232
 * models on a 600 px grid that is a 3-pixel block per cell, at 1,000 models a pixel or less.
 */
export function paintCells(m: DistanceMatrix, order: readonly number[], scale: DistanceScale, p: HeatmapPalette, px: number): HTMLCanvasElement {
  const n = order.length;
  const side = Math.max(n, Math.min(4096, Math.ceil(px / n) * n));
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const img = ctx.createImageData(side, side);
  const cell = side / n;
  const colors = [...p.scale, p.identical, p.equal, p.na, p.absent, p.self];
  for (let r = 0; r < n; r++) {
    const y0 = Math.round(r * cell);
    const y1 = Math.round((r + 1) * cell);
    const row = m.cells[order[r]!]!;
    for (let col = 0; col < n; col++) {
      const c = colors[cellColorIndex(row[order[col]!]!, scale)]!;
      const x0 = Math.round(col * cell);
      const x1 = Math.round((col + 1) * cell);
      for (let y = y0; y < y1; y++) {
        let o = (y * side + x0) * 4;
        for (let x = x0; x < x1; x++, o += 4) {
          img.data[o] = c.r;
          img.data[o + 1] = c.g;
          img.data[o + 2] = c.b;
          img.data[o + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * The dendrogram as a custom series on the heatmap's grid, drawn in the margin right of the cells: each merge an elbow
 * from its children's rows to its height (leaves at the cells, the root farthest right), so rows line up exactly.
 * Heights follow the colour scale (a merge height is a mean of distances): on a log or rank scale, the merges inside
 * families are not squeezed against the cells by one far outlier.
 */
function dendrogramSeries(s: Seriation, n: number, theme: Theme, scale: DistanceScale): { series: Record<string, unknown>; tip: (i: number) => { title: string; rows: [string, string][] } } {
  const { elbows } = dendrogramLayout({ component: '', nodes: s.leaves.nodes, roots: s.leaves.roots, absent: [] });
  const cut = s.clusters.cutHeight;
  const top = Math.max(0, ...elbows.map((e) => scale.position(e.node.height)));
  return {
    series: {
      type: 'custom',
      name: 'dendrogram',
      coordinateSystem: 'cartesian2d',
      clip: false,
      data: elbows.map((_, i) => [0, 0, i]),
      renderItem: (params: { dataIndex: number; coordSys: { x: number; y: number; width: number; height: number } }) => {
        const e = elbows[params.dataIndex]!;
        const cs = params.coordSys;
        const x0 = cs.x + cs.width + 4;
        const w = DENDROGRAM_WIDTH - 12;
        const x = (hgt: number) => x0 + (hgt > 0 && top > 0 ? (scale.position(hgt) / top) * w : 0);
        const y = (pos: number) => cs.y + ((pos - 0.5) * cs.height) / n;
        const above = cut !== null && e.node.height > cut;
        return {
          type: 'polyline',
          shape: { points: e.coords.map(([hgt, pos]) => [x(hgt), y(pos)]) },
          style: { stroke: above ? theme.muted : theme.blue, lineWidth: n > 100 ? 1 : 1.5, fill: 'none' },
        };
      },
      z: 3,
    },
    tip: (i) => {
      const node = elbows[i]?.node;
      return node
        ? { title: `merge at ${formatNumber(node.height, 6)}`, rows: [['models', String(node.size)], ['pairs averaged', String(node.linkedPairs ?? '')]] }
        : { title: '', rows: [] };
    },
  };
}

/** The legend under the heatmap: the scale's extent and kind, and the special marks. Built with DOM, coloured through CSSOM. */
function legend(m: DistanceMatrix, scale: DistanceScale, p: HeatmapPalette): HTMLElement {
  const swatch = (c: Rgba, mark: string, text: string, kind: string) => {
    const s = h('span', { class: 'md-swatch', attrs: { 'aria-hidden': 'true' } }, mark);
    s.style.backgroundColor = toCss(c);
    s.style.color = toCss(readableOn(c, [{ r: 0, g: 0, b: 0, a: 1 }, { r: 255, g: 255, b: 255, a: 1 }]));
    return h('span', { class: 'md-legend-item', dataset: { kind } }, s, text);
  };
  const grad = h('span', { class: 'md-gradient', attrs: { 'aria-hidden': 'true' } });
  grad.style.backgroundImage = `linear-gradient(to right, ${toCss(p.scale[0]!)}, ${toCss(p.scale[p.scale.length - 1]!)})`;
  const dist = m.metric === 'l2' ? 'L2' : '1 − cosine';
  const kind = scale.kind === 'linear' ? 'linear scale' : scale.kind === 'log' ? 'log scale' : 'rank scale: order only';
  return h(
    'div',
    { class: 'md-legend' },
    h(
      'span',
      { class: 'md-legend-item', id: 'heatmap-scale-legend' },
      scale.min === null ? 'no distances' : formatNumber(scale.min),
      grad,
      scale.max === null ? '' : formatNumber(scale.max),
      h('span', { class: 'md-muted' }, ` (${dist}, ${kind})`),
    ),
    swatch(p.identical, '=', 'identical', 'identical'),
    swatch(p.equal, '=v', 'equal values', 'equal'),
    swatch(p.na, 'n/a', 'not comparable', 'na'),
    swatch(p.absent, '–', 'absent', 'absent'),
  );
}

export interface HeatmapSettings {
  /** null: by the number of models (cluster order from CLUSTER_ORDER_FROM) */
  order: OrderMode | null;
  /** null: linear unless an outlier would wash it out */
  scale: ScaleKind | null;
}

export class HeatmapCard {
  readonly card: ChartCard;
  private readonly legendEl = h('div', { class: 'md-legend-wrap' });
  private readonly tableWrap = h('div', { class: 'md-matrix-wrap md-sr-only', id: 'matrix-table-wrap' });
  private readonly orderSel;
  private readonly scaleSel;
  private showTable = false;
  private tableFor: DistanceMatrix | null = null;
  private result: CompareResult | null = null;
  private matrix: DistanceMatrix | null = null;
  private seriation: (() => Seriation) | null = null;
  private focusModel: number | null = null;
  private order: number[] = [];

  constructor(
    exporter: Exporter,
    private readonly theme: () => Theme,
    private readonly onPick: (a: number, b: number) => void,
    private settings: HeatmapSettings,
    private readonly onSettings: (s: HeatmapSettings) => void,
  ) {
    this.card = new ChartCard('Distance matrix', () => this.exportName(), exporter, () => this.theme().bg, { id: 'heatmap-card', chartClass: 'md-chart-square' });
    this.card.chartEl.id = 'heatmap';
    this.orderSel = select('heatmap-order', 'Order', (['cluster', 'file'] as const).map((o) => ({ value: o, label: ORDER_LABEL[o] })), settings.order ?? 'cluster', (v) => this.setSettings({ order: v === 'file' ? 'file' : 'cluster' }));
    this.scaleSel = select('heatmap-scale', 'Colour', SCALE_KINDS.map((k) => ({ value: k, label: SCALE_LABEL[k] })), settings.scale ?? 'linear', (v) => this.setSettings({ scale: (SCALE_KINDS as readonly string[]).includes(v) ? (v as ScaleKind) : 'linear' }));
    const toggle = button('Table', () => {
      this.showTable = !this.showTable;
      this.tableWrap.classList.toggle('md-sr-only', !this.showTable);
      toggle.setAttribute('aria-pressed', String(this.showTable));
      if (this.showTable && this.result && this.matrix && this.tableFor !== this.matrix) this.renderTable(this.result, this.matrix, this.focusModel);
    }, { title: 'Show the matrix as a table' });
    toggle.setAttribute('aria-pressed', 'false');
    this.card.tools.prepend(this.orderSel.field, this.scaleSel.field);
    this.card.addTools(
      toggle,
      button('CSV', () => void this.exportCsv(exporter), { title: 'Export the matrix as CSV' }),
    );
    this.card.body.append(this.legendEl, this.tableWrap);
  }

  private setSettings(patch: Partial<HeatmapSettings>): void {
    this.settings = { ...this.settings, ...patch };
    this.onSettings(this.settings);
    if (this.result && this.matrix && this.seriation) this.render(this.result, this.matrix, this.focusModel, this.seriation);
  }

  /** The order in force: the saved choice, else cluster order from CLUSTER_ORDER_FROM models. */
  orderMode(n: number): OrderMode {
    return this.settings.order ?? (n >= CLUSTER_ORDER_FROM ? 'cluster' : 'file');
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

  /** `seriation` is asked for only when cluster order is in force (it is computed once per matrix by the caller). */
  render(result: CompareResult, m: DistanceMatrix, focusModel: number | null, seriation: () => Seriation): void {
    this.result = result;
    this.matrix = m;
    this.seriation = seriation;
    this.focusModel = focusModel;
    const theme = this.theme();
    const mode = this.orderMode(m.n);
    const s = mode === 'cluster' ? seriation() : null;
    this.order = s ? s.order : fileOrder(m.n);
    const scaleKind = this.settings.scale ?? defaultScale(matrixDistances(m));
    const scale = matrixScale(m, scaleKind);
    this.orderSel.value = mode;
    this.scaleSel.value = scale.kind;
    this.card.setTitle(`Distance matrix: ${m.component}, ${metricLabel(m.metric)}`);
    const el = this.card.chartEl;
    const bitmap = m.n >= BITMAP_FROM ? paintCells(m, this.order, scale, heatmapPalette(theme), Math.max(el.clientWidth, el.clientHeight) * (window.devicePixelRatio || 1)) : undefined;
    this.card.setOption(heatmapOption(result, m, theme, focusModel, { order: this.order, scale, seriation: s, ...(bitmap ? { bitmap, rowsHeight: el.clientHeight - 40 } : {}) }));
    el.dataset.order = this.order.join(',');
    el.dataset.orderMode = mode;
    el.dataset.scale = scale.kind;
    el.dataset.dendrogram = s ? 'shown' : 'none';
    el.dataset.cells = bitmap ? 'bitmap' : 'elements';
    const chart = this.card.chart!;
    chart.off('click');
    publishCellGeometry(chart, el);
    chart.on('click', (params: unknown) => {
      const q = params as { seriesType?: string; value?: unknown };
      if (q.seriesType !== 'heatmap') return;
      const v = q.value as number[] | undefined;
      const a = v ? this.order[v[1]!] : undefined;
      const b = v ? this.order[v[0]!] : undefined;
      if (a !== undefined && b !== undefined && a !== b) this.onPick(a, b);
    });
    this.pointerCells(!!bitmap);
    replaceChildren(this.legendEl, legend(m, scale, heatmapPalette(theme)));
    if (m.n <= TABLE_EAGER_LIMIT || this.showTable) this.renderTable(result, m, focusModel);
    else {
      this.tableFor = null;
      replaceChildren(this.tableWrap, h('p', { class: 'md-muted' }, `The table of ${m.n} × ${m.n} cells is built when you press Table.`));
    }
  }

  private readonly tip = h('div', { class: 'md-bitmap-tip', attrs: { 'aria-hidden': 'true' } });
  private pointerBound = false;

  /** The cell under the pointer (bitmap mode), from the grid's geometry. */
  private cellAtPixel(x: number, y: number): MatrixCell | null {
    const chart = this.card.chart;
    const m = this.matrix;
    if (!chart || !m || !chart.containPixel({ gridIndex: 0 }, [x, y])) return null;
    const v = chart.convertFromPixel({ gridIndex: 0 }, [x, y]) as number[] | undefined;
    if (!v) return null;
    const a = this.order[Math.round(v[1]!)];
    const b = this.order[Math.round(v[0]!)];
    return a === undefined || b === undefined ? null : (m.cells[a]?.[b] ?? null);
  }

  /** In bitmap mode the cells are one image: tooltip and click follow the pointer over the grid. */
  private pointerCells(on: boolean): void {
    const zr = this.card.chart?.getZr();
    if (!zr) return;
    this.tip.hidden = true;
    if (!on || this.pointerBound) return;
    this.card.chartEl.append(this.tip);
    this.pointerBound = true;
    zr.on('mousemove', (e: { offsetX: number; offsetY: number }) => {
      const c = this.bitmapMode() ? this.cellAtPixel(e.offsetX, e.offsetY) : null;
      if (!c || !this.result || !this.matrix) {
        this.tip.hidden = true;
        return;
      }
      replaceChildren(this.tip, tooltipElement(cellTooltip(c, this.result.models, this.matrix.component, this.matrix.metric)));
      this.tip.hidden = false;
      const w = this.card.chartEl.clientWidth;
      const left = e.offsetX + 14 + this.tip.offsetWidth > w ? Math.max(0, e.offsetX - 14 - this.tip.offsetWidth) : e.offsetX + 14;
      this.tip.style.left = `${left}px`;
      this.tip.style.top = `${e.offsetY + 14}px`;
    });
    zr.on('globalout', () => (this.tip.hidden = true));
    zr.on('click', (e: { offsetX: number; offsetY: number }) => {
      const c = this.bitmapMode() ? this.cellAtPixel(e.offsetX, e.offsetY) : null;
      if (c && c.a !== c.b) this.onPick(c.a, c.b);
    });
  }

  private bitmapMode(): boolean {
    return (this.matrix?.n ?? 0) >= BITMAP_FROM;
  }

  private renderTable(result: CompareResult, m: DistanceMatrix, focusModel: number | null): void {
    this.tableFor = m;
    const order = this.order.length === m.n ? this.order : fileOrder(m.n);
    const labels = result.models.map((mo, i) => modelName(i, mo.file));
    const head = h('tr', null, h('th', { attrs: { scope: 'col' } }, 'model'), ...order.map((i) => h('th', { attrs: { scope: 'col' } }, labels[i]!)));
    const rows = order.map((a) =>
      h(
        'tr',
        { class: a === focusModel ? 'md-focus' : '' },
        h('th', { attrs: { scope: 'row' } }, labels[a]!),
        ...order.map((b) => {
          const c = m.cells[a]![b]!;
          return h(
            'td',
            {
              class: `md-cell md-cell-${c.kind}`,
              dataset: { a: String(c.a), b: String(c.b), kind: c.kind, status: String(c.status) },
              title: c.kind === 'value' ? formatMetric(m.metric, c.value) : c.kind,
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
          );
        }),
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
