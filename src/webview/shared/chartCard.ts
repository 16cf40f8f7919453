/**
 * A titled card holding one echarts chart, with PNG/SVG export. PNG comes from the live canvas (getDataURL); SVG
 * from a short-lived server-side-rendering instance (renderToSVGString), so no SVG is ever inserted into the page.
 */
import { echarts } from './echarts';
import type { EChartsOption, EChartsType } from './echarts';
import { ce, h } from './dom';
import type { Child } from './dom';

export type ExportKind = 'png' | 'svg' | 'csv' | 'json';
export type Exporter = (suggestedName: string, kind: ExportKind, data: string) => Promise<void>;

export function button(label: string, onClick: () => void, opts: { secondary?: boolean; title?: string; id?: string } = {}): HTMLElement {
  const b = ce('vscode-button', {
    title: opts.title ?? label,
    ...(opts.id ? { id: opts.id } : {}),
    attrs: opts.secondary === false ? {} : { secondary: true },
    on: { click: () => onClick() },
  }, label);
  return b;
}

export class Card {
  readonly root: HTMLElement;
  readonly tools: HTMLElement;
  readonly body: HTMLElement;
  readonly titleEl: HTMLElement;

  constructor(title: string, opts: { id?: string; class?: string } = {}) {
    this.titleEl = h('h3', { class: 'md-card-title' }, title);
    this.tools = h('div', { class: 'md-card-tools' });
    this.body = h('div', { class: 'md-card-body' });
    this.root = h(
      'section',
      { class: `md-card ${opts.class ?? ''}`.trim(), ...(opts.id ? { id: opts.id } : {}) },
      h('header', { class: 'md-card-head' }, this.titleEl, this.tools),
      this.body,
    );
  }

  setTitle(s: string): void {
    this.titleEl.textContent = s;
  }

  addTools(...c: Child[]): void {
    for (const x of c) if (x instanceof Node) this.tools.appendChild(x);
  }
}

export class ChartCard extends Card {
  readonly chartEl: HTMLElement;
  chart: EChartsType | null = null;
  private option: EChartsOption | null = null;
  private ro: ResizeObserver;

  constructor(
    title: string,
    private readonly exportName: () => string,
    private readonly exporter: Exporter,
    private readonly background: () => string,
    opts: { id?: string; class?: string; chartClass?: string } = {},
  ) {
    super(title, opts);
    this.chartEl = h('div', { class: `md-chart ${opts.chartClass ?? ''}`.trim(), role: 'img', attrs: { 'aria-label': title } });
    this.body.appendChild(this.chartEl);
    this.addTools(
      button('PNG', () => void this.exportPng(), { title: 'Export as PNG' }),
      button('SVG', () => void this.exportSvg(), { title: 'Export as SVG' }),
    );
    this.ro = new ResizeObserver(() => this.chart?.resize());
    this.ro.observe(this.chartEl);
  }

  setOption(option: EChartsOption): void {
    this.option = option;
    if (!this.chart) this.chart = echarts.init(this.chartEl, null, { renderer: 'canvas' });
    this.chart.setOption(option, { notMerge: true });
  }

  getOption(): EChartsOption | null {
    return this.option;
  }

  async exportPng(): Promise<void> {
    if (!this.chart) return;
    const url = this.chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: this.background() });
    await this.exporter(`${this.exportName()}.png`, 'png', url.slice(url.indexOf(',') + 1));
  }

  svgString(): string | null {
    if (!this.option || !this.chart) return null;
    const ssr = echarts.init(null as unknown as HTMLElement, null, {
      renderer: 'svg',
      ssr: true,
      width: this.chart.getWidth() || 800,
      height: this.chart.getHeight() || 500,
    });
    try {
      ssr.setOption({ ...this.option, animation: false, backgroundColor: this.background() });
      return ssr.renderToSVGString();
    } finally {
      ssr.dispose();
    }
  }

  async exportSvg(): Promise<void> {
    const svg = this.svgString();
    if (svg) await this.exporter(`${this.exportName()}.svg`, 'svg', svg);
  }

  dispose(): void {
    this.ro.disconnect();
    this.chart?.dispose();
    this.chart = null;
  }
}
