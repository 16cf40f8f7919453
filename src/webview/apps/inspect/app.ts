/**
 * The read-only custom editor for a model file: architecture, components, tensors (filterable, virtualized) and
 * metadata. Every string here comes from the file and is inserted as text.
 */
import type { ModelInfo } from '../../../shared/result';
import type { InspectTensor } from '../../../shared/protocol';
import { formatDtypes, formatShape, slug } from '../../logic/labels';
import { makeNameFilter } from '../../logic/table';
import type { SortSpec } from '../../logic/table';
import { toCsv } from '../../../shared/csv';
import { numel, prettyMetadataValue } from '../../logic/inspect';
import type { HostIpc } from '../../shared/hostIpc';
import { Card, button } from '../../shared/chartCard';
import type { ExportKind } from '../../shared/chartCard';
import { h, replaceChildren } from '../../shared/dom';
import { select, textfield } from '../../shared/controls';
import { VirtualTable } from '../../shared/virtualTable';
import { safeText, shorten } from '../../../shared/text';
import { formatBytes, formatCount, formatInt } from '../../../shared/format';

interface InspectState {
  filter: string;
  component: string;
  dtype: string;
  sort: SortSpec | null;
}

/** Metadata values longer than this are collapsed behind a "show all" button. */
const LONG_VALUE = 4000;

export class InspectApp {
  readonly root: HTMLElement;
  private info: ModelInfo | null = null;
  private state: InspectState;
  private readonly header = h('header', { class: 'md-header', id: 'inspect-header' }, h('h1', null, 'Model file'), h('p', { class: 'md-muted' }, 'Reading the header…'));
  private readonly notesEl = h('ul', { class: 'md-notes', id: 'notes' });
  private readonly compCard = new Card('Components', { id: 'components-card' });
  private readonly tensorCard = new Card('Tensors', { id: 'tensors-card' });
  private readonly metaCard = new Card('Metadata', { id: 'metadata-card' });
  private readonly table: VirtualTable<InspectTensor>;
  private readonly compSel;
  private readonly dtypeSel;
  private readonly toast = h('div', { class: 'md-toast', role: 'status', attrs: { 'aria-live': 'polite' } });
  private readonly errorsEl = h('section', { class: 'md-errors', id: 'errors' });

  constructor(private readonly ipc: HostIpc) {
    const saved = ipc.getState<InspectState>();
    this.state = { filter: saved.filter ?? '', component: saved.component ?? '', dtype: saved.dtype ?? '', sort: saved.sort ?? null };
    this.table = new VirtualTable<InspectTensor>({
      id: 'tensor-table',
      label: 'Tensors',
      emptyText: 'No tensors match.',
      sort: this.state.sort,
      onSortChange: (s) => this.save({ sort: s }),
      columns: [
        { id: 'name', title: 'Name', value: (t) => safeText(t.name), width: 'minmax(16rem, 4fr)', tooltip: true },
        { id: 'component', title: 'Component', value: (t) => t.component, width: '7rem' },
        { id: 'dtype', title: 'Dtype', value: (t) => t.dtype, width: '6rem' },
        { id: 'shape', title: 'Shape', value: (t) => numel(t.shape), format: (t) => formatShape(t.shape), width: 'minmax(8rem, 1fr)' },
        { id: 'params', title: 'Elements', value: (t) => numel(t.shape), format: (t) => formatInt(numel(t.shape)), numeric: true, width: '8rem' },
        { id: 'bytes', title: 'Size', value: (t) => t.bytes, format: (t) => formatBytes(t.bytes), numeric: true, width: '7rem' },
      ],
    });
    const filter = textfield('tensor-filter', 'Filter by name', 'e.g. attn1 weight -bias', this.state.filter, (v) => {
      this.save({ filter: v });
      this.applyFilter();
    });
    this.compSel = select('tensor-component', 'Component', [{ value: '', label: 'all components' }], this.state.component, (v) => {
      this.save({ component: v });
      this.applyFilter();
    });
    this.dtypeSel = select('tensor-dtype', 'Dtype', [{ value: '', label: 'all dtypes' }], this.state.dtype, (v) => {
      this.save({ dtype: v });
      this.applyFilter();
    });
    this.tensorCard.addTools(button('CSV', () => void this.exportTensors(), { title: 'Export the tensors shown as CSV' }));
    this.tensorCard.body.append(h('div', { class: 'md-row' }, filter.field, this.compSel.field, this.dtypeSel.field), this.table.root);
    this.compCard.addTools(button('CSV', () => void this.exportComponents(), { title: 'Export as CSV' }));
    this.metaCard.addTools(button('JSON', () => void this.exportMetadata(), { title: 'Export the metadata as JSON' }));
    this.errorsEl.hidden = true;
    this.root = h(
      'div',
      { class: 'md-app md-inspect' },
      this.header,
      this.errorsEl,
      this.notesEl,
      this.compCard.root,
      this.tensorCard.root,
      this.metaCard.root,
      this.toast,
    );
    ipc.on('inspect/didChange', (p) => this.setInfo(p.info, p.tensors));
    ipc.on('error/didOccur', (p) => this.showError(p.message, p.file));
  }

  private save(p: Partial<InspectState>): void {
    this.state = { ...this.state, ...p };
    this.ipc.setState<InspectState>(this.state);
  }

  private showError(message: string, file?: string): void {
    if (!this.info) replaceChildren(this.header, h('h1', { id: 'model-name' }, file ? safeText(file) : 'Model file'), h('p', { class: 'md-error', role: 'alert' }, 'This file could not be read.'));
    this.errorsEl.hidden = false;
    this.errorsEl.append(h('p', { class: 'md-error-item' }, file ? h('span', { class: 'md-error-file' }, safeText(file)) : null, h('span', { class: 'md-error-msg' }, safeText(message))));
  }

  setInfo(info: ModelInfo, tensors: InspectTensor[]): void {
    if (!info || !Array.isArray(tensors)) {
      this.showError('The host sent a model description this editor cannot read.');
      return;
    }
    this.info = info;
    replaceChildren(
      this.header,
      h('h1', { id: 'model-name', title: safeText(info.path) }, safeText(info.file)),
      h(
        'p',
        { class: 'md-arch', id: 'arch-line' },
        h('strong', null, safeText(info.archDetail || info.arch)),
        ` · ${info.format} · ${formatBytes(info.sizeBytes)} · ${formatInt(info.tensorCount)} tensors · ${formatCount(info.paramCount)} parameters`,
      ),
    );
    const t = info.tensorHealth;
    const health = [
      ...(t?.nonFiniteCount ? [`${formatInt(t.nonFiniteCount)} tensors with NaN/Inf: ${t.nonFinite.map(safeText).join(', ')}${t.nonFinite.length < t.nonFiniteCount ? ', …' : ''}`] : []),
      ...(t?.allZeroCount ? [`${formatInt(t.allZeroCount)} all-zero tensors: ${t.allZero.map(safeText).join(', ')}${t.allZero.length < t.allZeroCount ? ', …' : ''}`] : []),
    ];
    const notes = [...(info.notes ?? []).map((n) => h('li', null, safeText(n))), ...health.map((x) => h('li', { class: 'md-warn' }, x))];
    replaceChildren(this.notesEl, ...notes);
    this.notesEl.hidden = notes.length === 0;
    this.renderComponents(info);
    const comps = [...new Set(tensors.map((t) => t.component))];
    const dtypes = [...new Set(tensors.map((t) => t.dtype))].sort();
    this.compSel.setOptions([{ value: '', label: 'all components' }, ...comps.map((c) => ({ value: c, label: safeText(c) }))], this.state.component);
    this.dtypeSel.setOptions([{ value: '', label: 'all dtypes' }, ...dtypes.map((d) => ({ value: d, label: safeText(d) }))], this.state.dtype);
    this.table.setRows(tensors);
    this.applyFilter();
    this.tensorCard.setTitle(`Tensors (${formatInt(tensors.length)})`);
    this.renderMetadata(info.metadata ?? {});
  }

  private applyFilter(): void {
    const { filter, component, dtype } = this.state;
    const match = makeNameFilter(filter);
    if (!filter.trim() && !component && !dtype) this.table.setFilter(null);
    else this.table.setFilter((t) => (!component || t.component === component) && (!dtype || t.dtype === dtype) && (match(t.name) || match(t.key)));
  }

  private renderComponents(info: ModelInfo): void {
    const entries = Object.entries(info.components ?? {});
    if (!entries.length) {
      replaceChildren(this.compCard.body, h('p', { class: 'md-muted' }, 'No components recognised.'));
      return;
    }
    replaceChildren(
      this.compCard.body,
      h(
        'table',
        { class: 'md-table', id: 'components-table' },
        h('thead', null, h('tr', null, ...['Component', 'Tensors', 'Parameters', 'Size', 'Dtypes'].map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
        h(
          'tbody',
          null,
          ...entries.map(([name, s]) =>
            h(
              'tr',
              { dataset: { component: name } },
              h('th', { attrs: { scope: 'row' } }, safeText(name)),
              h('td', { class: 'md-num' }, formatInt(s.tensors)),
              h('td', { class: 'md-num', title: formatInt(s.params) }, formatCount(s.params)),
              h('td', { class: 'md-num' }, formatBytes(s.bytes)),
              h('td', null, safeText(formatDtypes(s.dtypes))),
            ),
          ),
        ),
      ),
    );
  }

  private renderMetadata(meta: Record<string, string>): void {
    const keys = Object.keys(meta).sort();
    this.metaCard.setTitle(`Metadata (${keys.length})`);
    if (!keys.length) {
      replaceChildren(this.metaCard.body, h('p', { class: 'md-muted' }, 'This file has no metadata.'));
      return;
    }
    const rows = keys.map((k) => {
      const raw = String(meta[k] ?? '');
      const pretty = safeText(prettyMetadataValue(raw));
      const pre = h('pre', { class: 'md-meta-value' }, pretty.length > LONG_VALUE ? pretty.slice(0, LONG_VALUE) + '…' : pretty);
      const more =
        pretty.length > LONG_VALUE
          ? button(`Show all (${formatInt(pretty.length)} characters)`, () => {
              pre.textContent = pretty;
              more?.remove();
            })
          : null;
      return h('tr', { dataset: { key: shorten(k, 200) } }, h('th', { attrs: { scope: 'row' }, class: 'md-meta-key' }, safeText(k)), h('td', null, pre, more));
    });
    replaceChildren(this.metaCard.body, h('table', { class: 'md-table md-meta', id: 'metadata-table' }, h('tbody', null, ...rows)));
  }

  private baseName(): string {
    return slug((this.info?.file ?? 'model').replace(/\.[^.]+$/, ''));
  }

  private async exportTensors(): Promise<void> {
    const rows = this.table.rows().map((t) => [t.name, t.key, t.component, t.dtype, formatShape(t.shape), numel(t.shape), t.bytes]);
    await this.exportFile(`${this.baseName()}-tensors.csv`, 'csv', toCsv(['name', 'key', 'component', 'dtype', 'shape', 'elements', 'bytes'], rows));
  }

  private async exportComponents(): Promise<void> {
    if (!this.info) return;
    const rows = Object.entries(this.info.components).map(([c, s]) => [c, s.tensors, s.params, s.bytes, formatDtypes(s.dtypes)]);
    await this.exportFile(`${this.baseName()}-components.csv`, 'csv', toCsv(['component', 'tensors', 'params', 'bytes', 'dtypes'], rows));
  }

  private async exportMetadata(): Promise<void> {
    if (!this.info) return;
    await this.exportFile(`${this.baseName()}-metadata.json`, 'json', JSON.stringify(this.info.metadata ?? {}, null, 2));
  }

  private async exportFile(suggestedName: string, kind: ExportKind, data: string): Promise<void> {
    try {
      const r = await this.ipc.request('export/save', { suggestedName, kind, data }, 10 * 60_000);
      this.toast.textContent = r.saved ? `Saved ${safeText(r.path ?? suggestedName)}` : 'Export cancelled';
    } catch (e) {
      this.toast.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.toast.classList.add('md-toast-show');
    setTimeout(() => this.toast.classList.remove('md-toast-show'), 3500);
  }
}
