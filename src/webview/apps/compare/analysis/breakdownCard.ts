/**
 * Where the distance of a pair sits: per-group bars and table for the selected pair, and the group x pair heatmap of
 * the folder (capped, scrollable sideways). The time_embed placement can be switched (a new analysis run).
 */
import type { CompareResult } from '../../../../shared/result';
import type { AnalysisFile, BreakdownMatrix, SchemeName, TimeEmbedPlacement } from '../../../../shared/analysis';
import { breakdownBarsOption, breakdownHeatmapOption, breakdownHeatmapSize, breakdownRows, heatmapPairs, pairIndexOf, pairName, SCHEME_TITLES } from '../../../../views/charts/breakdown';
import { toCsv } from '../../../../shared/csv';
import { slug } from '../../../logic/labels';
import { Card } from '../../../shared/chartCard';
import type { ChartCard, Exporter } from '../../../shared/chartCard';
import { chartPalette, domTips } from '../../../shared/chartPalette';
import { select } from '../../../shared/controls';
import { h, replaceChildren } from '../../../shared/dom';
import type { Theme } from '../../../shared/theme';
import { subChart } from './chartCards';
import { staticNote } from './staticNote';
import { dataTable, num, rowHead } from './table';
import { publishCellGeometry } from '../../../shared/cellGeometry';
import { percent, formatDistance, formatInt, fullPrecision } from '../../../../shared/format';

const SCHEMES: SchemeName[] = ['block', 'type', 'vae', 'te'];

export class BreakdownCard {
  readonly card = new Card('Where the distance is', { id: 'breakdown-card' });
  private readonly schemeSel;
  private readonly timeEmbedSel;
  private readonly convention = h('p', { class: 'md-muted md-convention', id: 'breakdown-convention' });
  private readonly tableWrap = h('div', { class: 'md-table-wrap md-scroll-y' });
  private readonly heatmapNote = h('p', { class: 'md-muted', id: 'breakdown-heatmap-note' });
  private readonly heatmapScroll = h('div', { class: 'md-hscroll' });
  private readonly bars: ChartCard;
  private readonly heatmap: ChartCard;
  private analysis: AnalysisFile | null = null;
  private result: CompareResult | null = null;
  private isStatic = false;
  private pair = { a: 0, b: 1 };
  private shownPairs: number[] = [];

  constructor(
    exporter: Exporter,
    private readonly theme: () => Theme,
    private scheme: SchemeName,
    private readonly onScheme: (s: SchemeName) => void,
    private readonly onTimeEmbed: (t: TimeEmbedPlacement) => void,
    private readonly onPickPair: (a: number, b: number) => void,
  ) {
    this.schemeSel = select('breakdown-scheme', 'Groups', [], scheme, (v) => this.setScheme(v as SchemeName));
    this.timeEmbedSel = select(
      'breakdown-time-embed',
      'time_embed placement',
      [
        { value: 'BASE', label: 'BASE (sd-mecha)' },
        { value: 'IN00', label: 'IN00 (SuperMerger, meh)' },
      ],
      'BASE',
      (v) => this.onTimeEmbed(v === 'IN00' ? 'IN00' : 'BASE'),
    );
    this.card.addTools(this.schemeSel.field);
    const bg = () => this.theme().bg;
    this.bars = subChart(
      { title: 'Selected pair', cardId: 'breakdown-bars-card', chartId: 'breakdown-bars', exportName: () => this.exportName('breakdown'), csv: () => this.pairCsv() },
      exporter,
      bg,
    );
    this.heatmap = subChart(
      { title: 'Every pair', cardId: 'breakdown-heatmap-card', chartId: 'breakdown-heatmap', exportName: () => slug(`breakdown-${this.scheme}-all-pairs`), csv: () => this.matrixCsv() },
      exporter,
      bg,
    );
    this.bars.body.append(this.tableWrap);
    // the chart element moves into a sideways-scrolling box so a wide heatmap keeps its cells readable
    this.heatmapScroll.append(this.heatmap.chartEl);
    this.heatmap.body.append(this.heatmapNote, this.heatmapScroll);
    this.card.body.append(this.convention, this.bars.root, this.heatmap.root);
  }

  private matrix(): BreakdownMatrix | null {
    return this.analysis?.breakdowns[this.scheme] ?? null;
  }

  setData(analysis: AnalysisFile, result: CompareResult, isStatic: boolean): void {
    this.analysis = analysis;
    this.result = result;
    this.isStatic = isStatic;
    const present = SCHEMES.filter((s) => analysis.breakdowns[s]);
    if (!present.includes(this.scheme) && present[0]) this.scheme = present[0];
    this.schemeSel.setOptions(present.map((s) => ({ value: s, label: SCHEME_TITLES[s] })), this.scheme);
    this.timeEmbedSel.value = analysis.timeEmbed;
    this.card.root.hidden = present.length === 0;
    this.render();
  }

  setPair(a: number, b: number): void {
    this.pair = { a, b };
    if (this.analysis) this.render();
  }

  private setScheme(s: SchemeName): void {
    if (s === this.scheme || !this.analysis?.breakdowns[s]) return;
    this.scheme = s;
    this.onScheme(s);
    this.render();
  }

  render(): void {
    const m = this.matrix();
    const r = this.result;
    if (!m || !r) return;
    replaceChildren(
      this.convention,
      m.description,
      this.isStatic
        ? staticNote('switch the time_embed placement in VS Code or with `modeldiff analyze --time-embed IN00`.')
        : h('span', { class: 'md-inline-field' }, this.timeEmbedSel.field),
    );
    const palette = chartPalette(this.theme());
    const p = pairIndexOf(m, this.pair.a, this.pair.b);
    this.bars.setTitle(p < 0 ? 'Selected pair' : `Selected pair: ${pairName(m, p, r, 40)}`);
    if (p < 0) {
      this.bars.chart?.clear();
      replaceChildren(this.tableWrap, h('p', { class: 'md-muted' }, 'This pair is not in the breakdown.'));
    } else {
      this.bars.chartEl.style.height = `${m.groups.length > 14 ? 380 : 320}px`;
      this.bars.setOption(breakdownBarsOption(m, p, palette, { ...domTips(), names: r }));
      this.renderTable(m, p);
    }
    this.renderHeatmap(m, r, p);
  }

  private renderTable(m: BreakdownMatrix, p: number): void {
    const rows = breakdownRows(m, p).map((row) =>
      h(
        'tr',
        { dataset: { group: row.group } },
        rowHead(row.group),
        num(formatDistance(row.l2), row.l2 === null ? undefined : fullPrecision(row.l2), row.l2 === null),
        num(percent(row.share), undefined, row.share === null),
        num(row.keys === null ? formatInt(row.changedKeys) : `${formatInt(row.changedKeys)} / ${formatInt(row.keys)}`),
      ),
    );
    replaceChildren(this.tableWrap, dataTable('breakdown-table', 'Breakdown of the selected pair', ['Group', 'L2', 'Share of L2²', m.keys ? 'Changed keys / keys' : 'Changed keys'], rows, { class: 'md-compact' }));
  }

  private renderHeatmap(m: BreakdownMatrix, r: CompareResult, p: number): void {
    this.shownPairs = heatmapPairs(m, this.pair.a, this.pair.b);
    const size = breakdownHeatmapSize(m, this.shownPairs.length);
    this.heatmap.chartEl.style.height = `${size.height}px`;
    this.heatmap.chartEl.style.minWidth = `${size.width}px`;
    this.heatmapNote.textContent =
      this.shownPairs.length < m.pairs.length
        ? `Showing ${formatInt(this.shownPairs.length)} of ${formatInt(m.pairs.length)} pairs: those of #${this.pair.a} and #${this.pair.b} first. The CSV has every pair. Click a cell to select its pair.`
        : `${formatInt(m.pairs.length)} pairs. Click a cell to select its pair.`;
    this.heatmap.setOption(breakdownHeatmapOption(m, r, chartPalette(this.theme()), { ...domTips(), pairs: this.shownPairs, ...(p >= 0 ? { selected: p } : {}) }));
    const chart = this.heatmap.chart!;
    chart.off('click');
    publishCellGeometry(chart, this.heatmap.chartEl);
    chart.on('click', (params: unknown) => {
      const v = (params as { value?: unknown }).value as number[] | undefined;
      const q = v ? m.pairs[this.shownPairs[v[0]!] ?? -1] : undefined;
      if (q) this.onPickPair(q.a, q.b);
    });
  }

  private exportName(what: string): string {
    return slug(`${what}-${this.scheme}-${this.pair.a}-vs-${this.pair.b}`);
  }

  private pairCsv(): string | null {
    const m = this.matrix();
    const p = m ? pairIndexOf(m, this.pair.a, this.pair.b) : -1;
    if (!m || p < 0) return null;
    return toCsv(['group', 'l2', 'share', 'changed_keys', 'keys'], breakdownRows(m, p).map((r) => [r.group, r.l2, r.share, r.changedKeys, r.keys]));
  }

  private matrixCsv(): string | null {
    const m = this.matrix();
    if (!m) return null;
    const rows = m.pairs.flatMap((q, p) => m.groups.map((g, gi) => [q.a, q.b, g, m.l2[gi]?.[p] ?? null, m.changedKeys[gi]?.[p] ?? 0] as const));
    return toCsv(['a', 'b', 'group', 'l2', 'changed_keys'], rows);
  }
}
