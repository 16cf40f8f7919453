/**
 * Everything about one selected pair: the component summary, the key differences, the per-component histograms and
 * the per-layer table (from `layers/get`).
 */
import type { CompareResult, PairResult } from '../../../shared/result';
import type { LayerRowMessage } from '../../../shared/protocol';
import { componentsOf, findPair, STATUS_TEXT } from '../../logic/matrix';
import { differenceRows, layerCsvRows, SUMMARY_COLUMNS, summaryCsvRows, summaryRows } from '../../logic/pair';
import type { SummaryRow } from '../../logic/pair';
import { makeNameFilter } from '../../logic/table';
import type { SortSpec } from '../../logic/table';
import { toCsv } from '../../../shared/csv';
import { slug } from '../../logic/labels';
import type { Theme } from '../../shared/theme';
import { Card, ChartCard, button } from '../../shared/chartCard';
import type { Exporter } from '../../shared/chartCard';
import { h, replaceChildren } from '../../shared/dom';
import { select, textfield } from '../../shared/controls';
import { VirtualTable } from '../../shared/virtualTable';
import { HIST_HEIGHT, histogramOption } from './histograms';
import { safeText, modelName } from '../../../shared/text';
import { formatCosine, formatDistance, formatInt, fullPrecision } from '../../../shared/format';

export interface PairViewState {
  layerFilter: string;
  layerComponent: string;
  layerSort: SortSpec | null;
}

type DiffRow = ReturnType<typeof differenceRows>[number];

const STATUS_LABEL: Record<string, string> = {
  identical: '= identical',
  equal_values: '=v equal values',
  same_delta: '≈ same delta',
  changed: 'changed',
  only_in_a: 'only in A',
  only_in_b: 'only in B',
  not_comparable: 'n/a not comparable',
};

export class PairView {
  readonly root: HTMLElement;
  private result: CompareResult | null = null;
  private pair: PairResult | undefined;
  private a = 0;
  private b = 1;
  private rows: LayerRowMessage[] = [];
  private loadSeq = 0;
  private readonly selA;
  private readonly selB;
  private readonly summaryCard: Card;
  private readonly summaryBody = h('div', { class: 'md-summary', id: 'pair-summary' });
  private readonly diffCard: Card;
  private readonly diffTable: VirtualTable<DiffRow>;
  private readonly diffNote = h('div', { class: 'md-muted' });
  private readonly histCard: ChartCard;
  private readonly layersCard: Card;
  private readonly layersTable: VirtualTable<LayerRowMessage>;
  private readonly titleEl = h('h2', { class: 'md-section-title', id: 'pair-title' }, 'Pair');
  private readonly layerStatus = h('div', { class: 'md-status', id: 'layers-status', attrs: { 'aria-live': 'polite' } });
  private readonly layerComp;
  private readonly layerFilterField;
  private state: PairViewState;

  constructor(
    private readonly exporter: Exporter,
    private readonly theme: () => Theme,
    private readonly loadLayers: (a: number, b: number) => Promise<LayerRowMessage[]>,
    private readonly onPairChange: (a: number, b: number) => void,
    private readonly onStateChange: (s: PairViewState) => void,
    initial: Partial<PairViewState>,
  ) {
    this.state = { layerFilter: initial.layerFilter ?? '', layerComponent: initial.layerComponent ?? '', layerSort: initial.layerSort ?? null };
    this.selA = select('pair-a', 'Model A', [], '0', (v) => this.pick(Number(v), this.b));
    this.selB = select('pair-b', 'Model B', [], '1', (v) => this.pick(this.a, Number(v)));

    this.summaryCard = new Card('Pair summary', { id: 'summary-card' });
    this.summaryCard.addTools(button('CSV', () => void this.exportSummary(), { title: 'Export the summary as CSV' }));
    this.summaryCard.body.append(this.summaryBody);

    this.diffTable = new VirtualTable<DiffRow>({
      id: 'diff-table',
      label: 'Key differences',
      rowHeight: 22,
      height: 160,
      emptyText: 'No key differences: both models have the same keys, shapes and dtypes.',
      columns: [
        { id: 'kind', title: 'Difference', value: (r) => r.kind, width: '8rem' },
        { id: 'key', title: 'Key', value: (r) => safeText(r.key), width: 'minmax(14rem, 3fr)', tooltip: true },
        { id: 'a', title: 'A', value: (r) => safeText(r.a), width: 'minmax(6rem, 1fr)' },
        { id: 'b', title: 'B', value: (r) => safeText(r.b), width: 'minmax(6rem, 1fr)' },
      ],
    });
    this.diffCard = new Card('Key differences', { id: 'diff-card' });
    const diffFilter = textfield('diff-filter', 'Filter keys', 'substring…', '', (v) => {
      const match = makeNameFilter(v);
      this.diffTable.setFilter(v.trim() ? (r) => match(r.key) : null);
    });
    this.diffCard.addTools(button('CSV', () => void this.exportDiffs(), { title: 'Export the differences as CSV' }));
    this.diffCard.body.append(h('div', { class: 'md-row' }, diffFilter.field), this.diffTable.root, this.diffNote);

    this.histCard = new ChartCard('Per-layer L2 histograms', () => this.baseName('histograms'), exporter, () => this.theme().bg, { id: 'hist-card' });
    this.histCard.chartEl.id = 'histograms';

    this.layersTable = new VirtualTable<LayerRowMessage>({
      id: 'layers-table',
      label: 'Per-layer distances',
      rowHeight: 22,
      emptyText: 'No layers match.',
      sort: this.state.layerSort,
      onSortChange: (s) => this.setState({ layerSort: s }),
      columns: [
        { id: 'key', title: 'Key', value: (r) => safeText(r.key), width: 'minmax(16rem, 4fr)', tooltip: true },
        { id: 'component', title: 'Component', value: (r) => r.component, width: '7rem' },
        { id: 'l2', title: 'L2', value: (r) => r.l2, format: (r) => formatDistance(r.l2), numeric: true, width: 'minmax(9rem, 1fr)', cellClass: (r) => (r.l2 === null ? 'md-na' : r.l2 === 0 ? 'md-zero' : '') },
        { id: 'cosine', title: 'Cosine', value: (r) => r.cosine, format: (r) => formatCosine(r.cosine), numeric: true, width: 'minmax(9rem, 1fr)', cellClass: (r) => (r.cosine === null ? 'md-na' : '') },
      ],
    });
    this.layerFilterField = textfield('layer-filter', 'Filter by name', 'e.g. attn2 -norm', this.state.layerFilter, (v) => {
      this.setState({ layerFilter: v });
      this.applyLayerFilter();
    });
    this.layerComp = select('layer-component', 'Component', [{ value: '', label: 'all components' }], this.state.layerComponent, (v) => {
      this.setState({ layerComponent: v });
      this.applyLayerFilter();
    });
    this.layersCard = new Card('Per-layer distances', { id: 'layers-card' });
    this.layersCard.addTools(button('CSV', () => void this.exportLayers(), { title: 'Export the rows shown as CSV' }));
    this.layersCard.body.append(h('div', { class: 'md-row' }, this.layerFilterField.field, this.layerComp.field), this.layerStatus, this.layersTable.root);

    this.root = h(
      'div',
      { class: 'md-pair', id: 'pair-view' },
      this.titleEl,
      h(
        'div',
        { class: 'md-toolbar' },
        this.selA.field,
        button('⇄', () => this.pick(this.b, this.a), { title: 'Swap A and B' }),
        this.selB.field,
      ),
      this.summaryCard.root,
      this.diffCard.root,
      this.histCard.root,
      this.layersCard.root,
    );
  }

  private setState(p: Partial<PairViewState>): void {
    this.state = { ...this.state, ...p };
    this.onStateChange(this.state);
  }

  setResult(result: CompareResult): void {
    this.result = result;
    const opts = result.models.map((m, i) => ({ value: String(i), label: modelName(i, m.file, 60) }));
    this.selA.setOptions(opts, String(this.a));
    this.selB.setOptions(opts, String(this.b));
  }

  get current(): { a: number; b: number } {
    return { a: this.a, b: this.b };
  }

  private pick(a: number, b: number): void {
    if (a === b) {
      // keep the two sides different: move the other one
      const n = this.result?.models.length ?? 2;
      b = a === this.a ? this.a : (a + 1) % n;
      if (a === b) b = (a + 1) % n;
    }
    this.onPairChange(a, b);
  }

  /** Shows pair (a, b); loads its layers. */
  async show(a: number, b: number): Promise<void> {
    const result = this.result;
    if (!result || a === b) return;
    this.a = a;
    this.b = b;
    this.selA.value = String(a);
    this.selB.value = String(b);
    const pair = findPair(result, a, b);
    this.pair = pair;
    const ma = result.models[a];
    const mb = result.models[b];
    replaceChildren(this.titleEl, `Pair ${ma ? modelName(a, ma.file, 40) : '#' + a} vs ${mb ? modelName(b, mb.file, 40) : '#' + b}`);
    this.renderSummary(result, pair, a > b);
    this.renderDiffs(pair, a > b);
    const seq = ++this.loadSeq;
    this.layerStatus.textContent = 'Loading per-layer distances…';
    this.layerStatus.classList.remove('md-error');
    this.rows = [];
    this.layersTable.setRows([]);
    try {
      const rows = await this.loadLayers(a, b);
      if (seq !== this.loadSeq) return;
      this.rows = Array.isArray(rows) ? rows : [];
      this.layerStatus.textContent = '';
      const comps = [...new Set(this.rows.map((r) => r.component))];
      const order = componentsOf(result);
      comps.sort((x, y) => (order.indexOf(x) + 1 || 999) - (order.indexOf(y) + 1 || 999));
      this.layerComp.setOptions([{ value: '', label: 'all components' }, ...comps.map((c) => ({ value: c, label: c }))], this.state.layerComponent);
      this.layersTable.setRows(this.rows);
      this.applyLayerFilter();
      this.renderHistograms();
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.layerStatus.textContent = `Could not load the per-layer distances: ${e instanceof Error ? e.message : String(e)}`;
      this.layerStatus.classList.add('md-error');
      this.renderHistograms();
    }
  }

  private applyLayerFilter(): void {
    const { layerFilter, layerComponent } = this.state;
    const comp = this.rows.some((r) => r.component === layerComponent) ? layerComponent : '';
    if (!layerFilter && !comp) this.layersTable.setFilter(null);
    else {
      const match = makeNameFilter(layerFilter);
      this.layersTable.setFilter((r: LayerRowMessage) => (!comp || r.component === comp) && match(r.key));
    }
  }

  private renderSummary(result: CompareResult, pair: PairResult | undefined, swapped: boolean): void {
    if (!pair) {
      replaceChildren(this.summaryBody, h('p', { class: 'md-muted' }, 'This pair was not compared.'));
      return;
    }
    const rows = summaryRows(result, pair);
    const heads = ['Component', 'Status', 'L2', 'Cosine', 'Shared', 'Changed', swapped ? 'Only B' : 'Only A', swapped ? 'Only A' : 'Only B', 'Shape ≠', 'Dtype ≠', 'Non-finite'];
    const num = (v: number) => h('td', { class: 'md-num' }, formatInt(v));
    replaceChildren(
      this.summaryBody,
      h(
        'table',
        { class: 'md-table', id: 'summary-table' },
        h('thead', null, h('tr', null, ...heads.map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
        h(
          'tbody',
          null,
          ...rows.map((r: SummaryRow) =>
            h(
              'tr',
              { dataset: { component: r.component, status: r.status } },
              h('th', { attrs: { scope: 'row' } }, r.component),
              h('td', { class: `md-status-${r.status}`, title: r.reason ? `not comparable: ${r.reason}` : (STATUS_TEXT[r.status as keyof typeof STATUS_TEXT] ?? r.status) }, r.reason ? `n/a ${r.reason}` : (STATUS_LABEL[r.status] ?? r.status)),
              h('td', { class: `md-num${r.l2 === null ? ' md-na' : ''}`, title: fullPrecision(r.l2) }, formatDistance(r.l2)),
              h('td', { class: `md-num${r.cosine === null ? ' md-na' : ''}`, title: fullPrecision(r.cosine) }, formatCosine(r.cosine)),
              num(r.shared),
              num(r.changed),
              num(r.only_a),
              num(r.only_b),
              num(r.mismatched),
              num(r.dtype_diff),
              num(r.non_finite),
            ),
          ),
        ),
      ),
    );
  }

  private renderDiffs(pair: PairResult | undefined, swapped: boolean): void {
    const rows = pair ? differenceRows(pair) : [];
    const shown = swapped ? rows.map((r) => ({ ...r, kind: r.kind === 'only in A' ? 'only in B' : r.kind === 'only in B' ? 'only in A' : r.kind, a: r.b, b: r.a })) : rows;
    this.diffTable.setRows(shown);
    const d = pair?.differences;
    this.diffCard.setTitle(
      d ? `Key differences (${formatInt(d.only_a.length)} only A, ${formatInt(d.only_b.length)} only B, ${formatInt(d.mismatched.length)} shape, ${formatInt(d.dtype.length)} dtype)` : 'Key differences',
    );
    this.diffNote.textContent = d?.truncated ? 'Lists were cut at the limit of the result file.' : '';
  }

  private renderHistograms(): void {
    if (!this.result) return;
    const { option, count } = histogramOption(this.rows, componentsOf(this.result), this.pair, this.theme());
    this.histCard.chartEl.style.height = `${Math.max(1, count) * HIST_HEIGHT}px`;
    this.histCard.setOption(option);
    this.histCard.chart?.resize();
  }

  rerender(): void {
    if (this.result && this.rows.length) this.renderHistograms();
  }

  private baseName(what: string): string {
    return slug(`${what}-${this.a}-vs-${this.b}`);
  }

  private async exportSummary(): Promise<void> {
    if (!this.result || !this.pair) return;
    await this.exporter(`${this.baseName('summary')}.csv`, 'csv', toCsv(SUMMARY_COLUMNS, summaryCsvRows(summaryRows(this.result, this.pair))));
  }

  private async exportDiffs(): Promise<void> {
    const rows = this.diffTable.rows();
    await this.exporter(`${this.baseName('differences')}.csv`, 'csv', toCsv(['difference', 'key', 'a', 'b'], rows.map((r) => [r.kind, r.key, r.a, r.b])));
  }

  private async exportLayers(): Promise<void> {
    await this.exporter(`${this.baseName('layers')}.csv`, 'csv', toCsv(['key', 'component', 'l2', 'cosine'], layerCsvRows(this.layersTable.rows())));
  }

  /** Scrolls the pair view into sight. */
  reveal(): void {
    this.root.scrollIntoView({ block: 'start' });
  }
}
