/** How the models of one component group: average-linkage dendrogram and minimum spanning tree. */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, FamilyView } from '../../../../shared/analysis';
import { dendrogramHeight, dendrogramLayout, dendrogramOption } from '../../../../views/charts/dendrogram';
import { FORCE_LAYOUT_FROM, mstHeight, mstOption } from '../../../../views/charts/mst';
import { cutClusters } from '../../../../shared/clustering';
import { toCsv } from '../../../../shared/csv';
import { slug } from '../../../logic/labels';
import { Card } from '../../../shared/chartCard';
import type { ChartCard, Exporter } from '../../../shared/chartCard';
import { chartPalette, domTips } from '../../../shared/chartPalette';
import { select } from '../../../shared/controls';
import { h, replaceChildren } from '../../../shared/dom';
import type { Theme } from '../../../shared/theme';
import { subChart } from './chartCards';
import { dataTable, num } from './table';
import { safeText, modelName } from '../../../../shared/text';
import { formatDistance, fullPrecision } from '../../../../shared/format';

/** The flat clusters of a family's dendrogram (as the panel's network colours them), by model. */
function familyClusters(v: FamilyView): Map<number, number> {
  const { order } = dendrogramLayout(v.dendrogram);
  const cut = cutClusters({ nodes: v.dendrogram.nodes, roots: v.dendrogram.roots }, order);
  const out = new Map<number, number>();
  for (const node of v.dendrogram.nodes) if (!node.children && node.model !== undefined) out.set(node.model, cut.cluster[node.id] ?? -1);
  return out;
}

export class FamilyCard {
  readonly card = new Card('Family', { id: 'family-card' });
  private readonly componentSel;
  private readonly dendrogram: ChartCard;
  private readonly mst: ChartCard;
  private readonly mstTableWrap = h('div', { class: 'md-table-wrap md-scroll-y' });
  private analysis: AnalysisFile | null = null;
  private result: CompareResult | null = null;

  constructor(
    exporter: Exporter,
    private readonly theme: () => Theme,
    private component: string,
    private readonly onComponent: (c: string) => void,
  ) {
    this.componentSel = select('family-component', 'Component', [], component, (v) => this.setComponent(v));
    this.card.addTools(this.componentSel.field);
    const bg = () => this.theme().bg;
    this.dendrogram = subChart(
      { title: 'Dendrogram', cardId: 'dendrogram-card', chartId: 'dendrogram', exportName: () => slug(`dendrogram-${this.component}`), csv: () => this.dendrogramCsv() },
      exporter,
      bg,
    );
    this.mst = subChart(
      { title: 'Minimum spanning tree', cardId: 'mst-card', chartId: 'mst-chart', exportName: () => slug(`spanning-tree-${this.component}`), csv: () => this.mstCsv() },
      exporter,
      bg,
    );
    this.mst.body.append(this.mstTableWrap);
    this.card.body.append(h('div', { class: 'md-grid2' }, this.dendrogram.root, this.mst.root));
  }

  private view(): FamilyView | null {
    return this.analysis?.family.find((f) => f.component === this.component) ?? null;
  }

  setData(analysis: AnalysisFile, result: CompareResult): void {
    this.analysis = analysis;
    this.result = result;
    const comps = analysis.family.map((f) => f.component);
    this.card.root.hidden = comps.length === 0;
    if (!comps.includes(this.component) && comps[0]) this.component = comps[0];
    this.componentSel.setOptions(comps.map((c) => ({ value: c, label: c })), this.component);
    this.render();
  }

  private setComponent(c: string): void {
    if (c === this.component) return;
    this.component = c;
    this.onComponent(c);
    this.render();
  }

  render(): void {
    const v = this.view();
    const r = this.result;
    if (!v || !r) return;
    const palette = chartPalette(this.theme());
    this.dendrogram.chartEl.style.height = `${dendrogramHeight(v.dendrogram)}px`;
    this.dendrogram.setOption(dendrogramOption(v.dendrogram, palette, domTips()));
    this.mst.chartEl.style.height = `${mstHeight(v.mst)}px`;
    this.mst.setOption(mstOption(v.mst, r, palette, { ...domTips(), ...(v.dendrogram.nodes.filter((x) => !x.children).length > FORCE_LAYOUT_FROM ? { clusters: familyClusters(v) } : {}) }));
    const rows = v.mst.directed.map((e) =>
      h(
        'tr',
        { dataset: { parent: String(e.parent), child: String(e.child) } },
        h('td', { title: safeText(r.models[e.parent]?.file ?? '') }, modelName(e.parent, r.models[e.parent]?.file ?? '', 36)),
        h('td', { class: 'md-arrow', attrs: { 'aria-hidden': 'true' } }, '→'),
        h('td', { title: safeText(r.models[e.child]?.file ?? '') }, modelName(e.child, r.models[e.child]?.file ?? '', 36)),
        num(formatDistance(e.l2), fullPrecision(e.l2)),
      ),
    );
    replaceChildren(
      this.mstTableWrap,
      rows.length ? dataTable('mst-table', `Spanning tree of ${v.component}`, ['Parent (suggested)', '', 'Child', 'L2'], rows, { class: 'md-compact' }) : h('p', { class: 'md-muted' }, 'No two models have a comparable distance here.'),
    );
  }

  private dendrogramCsv(): string | null {
    const v = this.view();
    if (!v) return null;
    const rows = v.dendrogram.nodes.map((n) => [n.id, n.model ?? null, n.file ?? null, n.children?.[0] ?? null, n.children?.[1] ?? null, n.height, n.size, n.linkedPairs ?? null]);
    return toCsv(['node', 'model', 'file', 'child_1', 'child_2', 'height_l2', 'models', 'pairs_averaged'], rows);
  }

  private mstCsv(): string | null {
    const v = this.view();
    if (!v) return null;
    return toCsv(['parent', 'child', 'l2', 'parent_file', 'child_file'], v.mst.directed.map((e) => [e.parent, e.child, e.l2, this.result?.models[e.parent]?.file ?? null, this.result?.models[e.child]?.file ?? null]));
  }
}
