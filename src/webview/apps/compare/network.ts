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
import { buildGraph, defaultEdgeMode, DENSE_LIMIT, EDGE_MODE_LABEL, equalNotIdenticalLists, groupLists, thresholdRange } from '../../logic/graph';
import type { EdgeMode, GraphEdge } from '../../logic/graph';
import type { Seriation } from '../../logic/seriation';
import { select } from '../../shared/controls';
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
  private readonly colorsEl = h('div', { class: 'md-muted md-network-note', id: 'network-colors' });
  private readonly modeSel;
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
    private mode: EdgeMode | null,
    private readonly onMode: (m: EdgeMode) => void,
  ) {
    this.card = new Card('Network', { id: 'network-card' });
    this.modeSel = select('network-edges', 'Edges', (['backbone', 'nearest', 'all'] as const).map((k) => ({ value: k, label: EDGE_MODE_LABEL[k] })), mode ?? 'all', (v) => {
      this.mode = v === 'backbone' || v === 'nearest' ? v : 'all';
      this.onMode(this.mode);
      if (this.result && this.matrix && this.seriation) this.render(this.result, this.matrix, this.threshold, this.focusModel, this.seriation);
    });
    this.slider = h('input', {
      id: 'threshold',
      attrs: { type: 'range', min: 0, max: 1, step: 0.01, 'aria-label': 'Distance threshold: hide edges longer than this' },
    });
    this.slider.addEventListener('input', () => this.applyThreshold(Number(this.slider.value), true));
    this.card.addTools(this.modeSel.field, button('PNG', () => void this.exportPng(), { title: 'Export as PNG' }), button('SVG', () => void this.exportSvg(), { title: 'Export as SVG' }));
    this.card.body.append(
      h('div', { class: 'md-row' }, h('label', { class: 'md-field md-grow', attrs: { for: 'threshold' } }, h('span', { class: 'md-field-label' }, 'Max distance'), this.slider), this.sliderText),
      this.container,
      this.colorsEl,
      this.groupsEl,
    );
  }

  private options(): Options {
    const t = this.theme();
    return {
      autoResize: true,
      // Kamada-Kawai start positions cost more than the whole force layout at a few hundred nodes
      layout: { randomSeed: 7, improvedLayout: !this.labelsOnHover() },
      // many models: a tree of short springs and weak repulsion, so families gather into branches instead of a disc
      physics: this.labelsOnHover()
        ? { solver: 'forceAtlas2Based', forceAtlas2Based: { springConstant: 0.2, gravitationalConstant: -24, centralGravity: 0.004, avoidOverlap: 0.2 }, stabilization: { iterations: 250, fit: true } }
        : { solver: 'forceAtlas2Based', forceAtlas2Based: { springConstant: 0.08, gravitationalConstant: -60, avoidOverlap: 0.4 }, stabilization: { iterations: 300, fit: true } },
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

  /** Colour of a flat cluster; a model alone is muted. Neighbouring clusters (in cluster order) differ. */
  private clusterColor(cluster: number): string {
    const t = this.theme();
    if (cluster < 0) return t.muted;
    const palette = [t.blue, t.orange, t.green, t.purple, t.yellow, t.red, toCss(mix(t.rgb.blue, t.rgb.green, 0.5)), toCss(mix(t.rgb.orange, t.rgb.purple, 0.5))];
    return palette[cluster % palette.length]!;
  }

  private seriation: (() => Seriation) | null = null;
  /** edges that take part in the layout (null: all) */
  private springs: Set<string> | null = null;
  private focusModel: number | null = null;

  /** `seriation` is asked for when the graph needs the backbone or the clusters (many models). */
  render(result: CompareResult, m: DistanceMatrix, threshold: number | null, focusModel: number | null, seriation: () => Seriation): void {
    this.result = result;
    this.matrix = m;
    this.seriation = seriation;
    this.focusModel = focusModel;
    const mode = this.mode ?? defaultEdgeMode(m.n);
    this.modeSel.value = mode;
    const many = m.n > DENSE_LIMIT;
    const s = many || mode === 'backbone' ? seriation() : null;
    const r = thresholdRange(m);
    this.slider.min = String(r.min);
    this.slider.max = String(r.max);
    this.slider.step = String(r.step);
    this.threshold = threshold !== null && threshold < r.max ? threshold : null;
    this.slider.value = String(this.threshold ?? r.max);
    this.slider.disabled = m.max === null;
    const clusters = many && s ? s.clusters : null;
    const g = buildGraph(result, m, {
      threshold: this.threshold,
      mode,
      ...(s ? { backbone: s.backbone } : {}),
      ...(clusters ? { clusters: clusters.cluster } : {}),
      labelsOnHover: many,
      ...(many ? { minLength: 12, maxLength: 160 } : {}),
    });
    this.graphEdges = g.edges;
    const sizes = new Map<number, number>();
    for (const x of g.groups) sizes.set(x, (sizes.get(x) ?? 0) + 1);
    const t = this.theme();
    this.container.dataset.edgeMode = mode;
    this.container.dataset.edges = String(g.edges.length);
    this.container.dataset.labels = many ? 'hover' : 'shown';
    this.container.dataset.clusters = String(clusters?.count ?? 0);
    this.container.dataset.nodeClusters = clusters ? clusters.cluster.join(',') : '';
    this.colorsEl.textContent = clusters
      ? `Colours: ${clusters.count} ${clusters.count === 1 ? 'cluster' : 'clusters'} of the average-linkage dendrogram${clusters.cutHeight !== null ? ` (cut at ${formatNumber(clusters.cutHeight)})` : ''}; grey: a model alone. Names on hover.`
      : 'Nodes of one bit-identical group share a colour.';
    this.nodes.clear();
    this.nodes.add(
      g.nodes.map((nd) => {
        const c = clusters ? this.clusterColor(nd.cluster) : this.groupColor(nd.group, sizes.get(nd.group) ?? 1);
        return { id: nd.id, label: nd.label, title: nd.title, color: { background: c, border: nd.id === focusModel ? t.focus : c, highlight: { background: c, border: t.focus }, hover: { background: c, border: t.focus } } };
      }),
    );
    // many models: only the backbone pulls the layout, whatever edges are drawn (26,796 springs would not settle)
    this.springs = many && s ? new Set(s.backbone.map((e) => `${Math.min(e.a, e.b)}-${Math.max(e.a, e.b)}`)) : null;
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

  private labelsOnHover(): boolean {
    return (this.matrix?.n ?? 0) > DENSE_LIMIT;
  }

  private visEdge(e: GraphEdge): Edge {
    const t = this.theme();
    const ident = e.kind !== 'value';
    return {
      id: e.id,
      from: e.from,
      to: e.to,
      label: this.labelsOnHover() && e.kind === 'value' ? '' : e.label,
      title: e.title,
      length: e.length,
      hidden: e.hidden,
      physics: !this.springs || this.springs.has(e.id),
      dashes: ident ? [8, 5] : false,
      width: e.kind === 'identical' ? 4 : e.kind === 'equal' ? 3 : 1,
      color: ident ? { color: e.kind === 'identical' ? t.green : toCss(mix(t.rgb.bg, t.rgb.green, 0.6)), inherit: false } : { color: this.labelsOnHover() ? toCss(mix(t.rgb.bg, t.rgb.fg, 0.45)) : t.grid, inherit: false },
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
    const m = this.matrix;
    if (!m) return;
    const lists = groupLists(groups);
    const equal = equalNotIdenticalLists(m);
    const shown = (l: number[], sep: string) => (l.length > 12 ? `${l.slice(0, 12).map((i) => '#' + i).join(sep)} … (+${l.length - 12})` : l.map((i) => '#' + i).join(sep));
    const chip = (l: number[], sep: string, color: string | null, kind: string) => {
      const el = h('span', { class: 'md-chip', dataset: { kind }, title: l.map((i) => `#${i} ${result.models[i]?.file ?? ''}`).join('\n') }, shown(l, sep));
      if (color) el.style.borderColor = color;
      return el;
    };
    replaceChildren(
      this.groupsEl,
      lists.length
        ? h('div', { class: 'md-group-line', id: 'identical-group-line' }, h('span', { class: 'md-muted' }, `Bit-identical ${m.component}: `), ...lists.map((l) => chip(l, ' = ', this.groupColor(groups[l[0]!]!, l.length), 'identical')))
        : h('span', { class: 'md-muted' }, `No two models share a bit-identical ${m.component}.`),
      equal.length
        ? h('div', { class: 'md-group-line', id: 'equal-group-line' }, h('span', { class: 'md-muted' }, `Equal values, not bit-identical (other bytes, dtypes or keys): `), ...equal.map((l) => chip(l, ' =v ', null, 'equal')))
        : null,
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
