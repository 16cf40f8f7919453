/**
 * The network of models (vis-network, peer build: no injected <style>; its tooltip is styled by our CSS). Edge length
 * follows the distance, a threshold hides far edges, identical components are bold dashed edges and nodes of one
 * identical group share a colour. Labels and tooltips are plain text (vis-network sets strings with innerText).
 */
import { Network } from 'vis-network';
import type { Edge, Node, Options } from 'vis-network';
import { DataSet } from 'vis-data';
import type { CompareResult } from '../../../shared/result';
import type { DistanceMatrix } from '../../logic/matrix';
import { buildGraph, groupLists, sparsify, thresholdRange } from '../../logic/graph';
import type { GraphEdge } from '../../logic/graph';
import { mix, toCss } from '../../logic/color';
import { slug } from '../../logic/labels';
import { metricLabel } from '../../logic/types';
import { networkSvg } from '../../logic/svg';
import type { Theme } from '../../shared/theme';
import { Card, button } from '../../shared/chartCard';
import type { Exporter } from '../../shared/chartCard';
import { h, replaceChildren } from '../../shared/dom';
import { formatNumber } from '../../../shared/format';

export class NetworkCard {
  readonly card: Card;
  private readonly container = h('div', { class: 'md-network', id: 'network', role: 'img', attrs: { 'aria-label': 'Network of models' } });
  private readonly slider: HTMLInputElement;
  private readonly sliderText = h('output', { class: 'md-slider-value', id: 'threshold-value' });
  private readonly groupsEl = h('div', { class: 'md-groups', id: 'identical-groups' });
  private network: Network | null = null;
  private nodes = new DataSet<Node>();
  private edges = new DataSet<Edge>();
  private graphEdges: GraphEdge[] = [];
  private matrix: DistanceMatrix | null = null;
  private result: CompareResult | null = null;
  private threshold: number | null = null;

  constructor(
    private readonly exporter: Exporter,
    private readonly theme: () => Theme,
    private readonly onFocusModel: (i: number) => void,
    private readonly onThreshold: (t: number | null) => void,
  ) {
    this.card = new Card('Network', { id: 'network-card' });
    this.slider = h('input', {
      id: 'threshold',
      attrs: { type: 'range', min: 0, max: 1, step: 0.01, 'aria-label': 'Distance threshold: hide edges longer than this' },
    });
    this.slider.addEventListener('input', () => this.applyThreshold(Number(this.slider.value), true));
    this.card.addTools(button('PNG', () => void this.exportPng(), { title: 'Export as PNG' }), button('SVG', () => void this.exportSvg(), { title: 'Export as SVG' }));
    this.card.body.append(
      h('div', { class: 'md-row' }, h('label', { class: 'md-field md-grow', attrs: { for: 'threshold' } }, h('span', { class: 'md-field-label' }, 'Max distance'), this.slider), this.sliderText),
      this.container,
      this.groupsEl,
    );
  }

  private options(): Options {
    const t = this.theme();
    return {
      autoResize: true,
      layout: { randomSeed: 7, improvedLayout: true },
      physics: { solver: 'forceAtlas2Based', forceAtlas2Based: { springConstant: 0.08, gravitationalConstant: -60, avoidOverlap: 0.4 }, stabilization: { iterations: 300, fit: true } },
      interaction: { hover: true, tooltipDelay: 150, navigationButtons: false, keyboard: false },
      nodes: {
        shape: 'dot',
        size: 12,
        borderWidth: 2,
        font: { color: t.fg, face: t.fontFamily, size: 12, strokeWidth: 3, strokeColor: t.bg, multi: false },
      },
      edges: {
        smooth: false,
        font: { color: t.fg, face: t.fontFamily, size: 10, strokeWidth: 3, strokeColor: t.bg, align: 'middle', multi: false },
        color: { color: t.grid, highlight: t.focus, hover: t.focus, inherit: false },
        selectionWidth: 2,
      },
    };
  }

  private groupColor(group: number, size: number): string {
    const t = this.theme();
    if (size <= 1) return t.blue;
    const palette = [t.green, t.orange, t.purple, t.yellow, t.red];
    return palette[group % palette.length]!;
  }

  render(result: CompareResult, m: DistanceMatrix, threshold: number | null, focusModel: number | null): void {
    this.result = result;
    this.matrix = m;
    const r = thresholdRange(m);
    this.slider.min = String(r.min);
    this.slider.max = String(r.max);
    this.slider.step = String(r.step);
    this.threshold = threshold !== null && threshold < r.max ? threshold : null;
    this.slider.value = String(this.threshold ?? r.max);
    this.slider.disabled = m.max === null;
    const g = buildGraph(result, m, { threshold: this.threshold });
    this.graphEdges = sparsify(g.edges, m.n);
    const sizes = new Map<number, number>();
    for (const x of g.groups) sizes.set(x, (sizes.get(x) ?? 0) + 1);
    const t = this.theme();
    this.nodes.clear();
    this.nodes.add(
      g.nodes.map((nd) => {
        const c = this.groupColor(nd.group, sizes.get(nd.group) ?? 1);
        return { id: nd.id, label: nd.label, title: nd.title, color: { background: c, border: nd.id === focusModel ? t.focus : c, highlight: { background: c, border: t.focus }, hover: { background: c, border: t.focus } } };
      }),
    );
    this.edges.clear();
    this.edges.add(this.graphEdges.map((e) => this.visEdge(e)));
    if (!this.network) {
      this.network = new Network(this.container, { nodes: this.nodes, edges: this.edges }, this.options());
      this.network.on('click', (p: { nodes?: (string | number)[] }) => {
        const id = p?.nodes?.[0];
        if (id !== undefined) this.onFocusModel(Number(id));
      });
      this.network.on('stabilizationIterationsDone', () => {
        this.network?.setOptions({ physics: { enabled: false } });
        this.updateGeometry();
      });
      for (const ev of ['dragEnd', 'zoom', 'resize', 'animationFinished'] as const) this.network.on(ev, () => this.updateGeometry());
    } else {
      this.network.setOptions({ ...this.options(), physics: { ...(this.options().physics as object), enabled: true } });
      this.network.setData({ nodes: this.nodes, edges: this.edges });
    }
    if (focusModel !== null) this.network.selectNodes([focusModel]);
    this.card.setTitle(`Network: ${m.component}, ${metricLabel(m.metric)}`);
    this.updateSliderText();
    this.renderGroups(result, g.groups);
  }

  private visEdge(e: GraphEdge): Edge {
    const t = this.theme();
    const ident = e.kind !== 'value';
    return {
      id: e.id,
      from: e.from,
      to: e.to,
      label: e.label,
      title: e.title,
      length: e.length,
      hidden: e.hidden,
      dashes: ident ? [8, 5] : false,
      width: e.kind === 'identical' ? 4 : e.kind === 'equal' ? 3 : 1,
      color: ident ? { color: e.kind === 'identical' ? t.green : toCss(mix(t.rgb.bg, t.rgb.green, 0.6)), inherit: false } : { color: t.grid, inherit: false },
    };
  }

  private applyThreshold(v: number, fromUser: boolean): void {
    const max = Number(this.slider.max);
    this.threshold = v >= max ? null : v;
    for (const e of this.graphEdges) e.hidden = e.kind === 'value' && this.threshold !== null && e.distance > this.threshold;
    this.edges.update(this.graphEdges.map((e) => ({ id: e.id, hidden: e.hidden })));
    this.updateSliderText();
    if (fromUser) this.onThreshold(this.threshold);
  }

  private updateSliderText(): void {
    const shown = this.graphEdges.filter((e) => !e.hidden).length;
    this.sliderText.textContent = `${this.threshold === null ? 'all' : '≤ ' + formatNumber(this.threshold)} · ${shown}/${this.graphEdges.length} edges`;
  }

  private renderGroups(result: CompareResult, groups: number[]): void {
    const lists = groupLists(groups);
    if (!this.matrix) return;
    if (!lists.length) {
      replaceChildren(this.groupsEl, h('span', { class: 'md-muted' }, `No two models share an identical ${this.matrix.component}.`));
      return;
    }
    replaceChildren(
      this.groupsEl,
      h('span', { class: 'md-muted' }, `Identical ${this.matrix.component}: `),
      ...lists.map((l) => {
        const chip = h('span', { class: 'md-chip', title: l.map((i) => `#${i} ${result.models[i]?.file ?? ''}`).join('\n') }, l.map((i) => '#' + i).join(' = '));
        chip.style.borderColor = this.groupColor(groups[l[0]!]!, l.length);
        return chip;
      }),
    );
  }

  /** Node centres in CSS pixels of the container, for automation and assistive tooling (data-node-positions). */
  private updateGeometry(): void {
    if (!this.network) return;
    const pos = this.network.getPositions();
    const out: Record<string, [number, number]> = {};
    for (const [id, p] of Object.entries(pos)) {
      const d = this.network.canvasToDOM(p);
      out[id] = [Math.round(d.x), Math.round(d.y)];
    }
    this.container.dataset.nodePositions = JSON.stringify(out);
  }

  focus(i: number): void {
    if (!this.network) return;
    this.network.selectNodes([i]);
    this.network.focus(i, { scale: 1, animation: false });
    this.updateGeometry();
  }

  fit(): void {
    this.network?.fit({ animation: false });
  }

  private exportName(): string {
    return this.matrix ? slug(`network-${this.matrix.component}-${this.matrix.metric}`) : 'network';
  }

  pngBase64(): string | null {
    const canvas = this.container.querySelector('canvas');
    if (!canvas) return null;
    const out = document.createElement('canvas');
    out.width = canvas.width;
    out.height = canvas.height;
    const ctx = out.getContext('2d');
    if (!ctx) return null;
    ctx.fillStyle = this.theme().bg;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(canvas, 0, 0);
    const url = out.toDataURL('image/png');
    return url.slice(url.indexOf(',') + 1);
  }

  async exportPng(): Promise<void> {
    const data = this.pngBase64();
    if (data) await this.exporter(`${this.exportName()}.png`, 'png', data);
  }

  svgString(): string | null {
    if (!this.network || !this.result) return null;
    const t = this.theme();
    const pos = this.network.getPositions();
    const nodes = this.nodes.get().map((nd) => {
      const p = pos[nd.id as number] ?? { x: 0, y: 0 };
      const color = typeof nd.color === 'object' && nd.color && 'background' in nd.color ? String(nd.color.background) : t.blue;
      return { id: Number(nd.id), label: String(nd.label ?? ''), x: p.x, y: p.y, color };
    });
    const edges = this.graphEdges
      .filter((e) => !e.hidden)
      .map((e) => ({
        from: e.from,
        to: e.to,
        label: e.label,
        color: e.kind === 'identical' ? t.green : e.kind === 'equal' ? toCss(mix(t.rgb.bg, t.rgb.green, 0.6)) : t.grid,
        width: e.kind === 'identical' ? 4 : e.kind === 'equal' ? 3 : 1,
        dashed: e.kind !== 'value',
      }));
    return networkSvg(nodes, edges, { background: t.bg, foreground: t.fg, fontFamily: t.fontFamily, fontSize: 12, nodeRadius: 12 }, this.card.titleEl.textContent ?? '');
  }

  async exportSvg(): Promise<void> {
    const svg = this.svgString();
    if (svg) await this.exporter(`${this.exportName()}.svg`, 'svg', svg);
  }
}
