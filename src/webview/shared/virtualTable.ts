/**
 * A sortable, filterable table that renders only the rows in view (a pool of row elements recycled on scroll), so
 * tens of thousands of rows scroll smoothly. Cells are set with textContent.
 */
import type { CellValue, SortSpec } from '../logic/table';
import { nextSort, sortRows } from '../logic/table';
import { visibleRange } from '../logic/table';
import { h } from './dom';

export interface Column<T> {
  id: string;
  title: string;
  value: (row: T) => CellValue;
  /** display text; defaults to String(value) ('' for null) */
  format?: (row: T) => string;
  numeric?: boolean;
  /** CSS grid track, e.g. "minmax(12rem, 1fr)" or "7rem" */
  width?: string;
  /** extra class per cell, e.g. for status colouring */
  cellClass?: (row: T) => string;
  /** full text shown on hover (for truncated cells) */
  tooltip?: boolean;
}

export interface VirtualTableOptions<T> {
  columns: Column<T>[];
  label: string;
  rowHeight?: number;
  emptyText?: string;
  sort?: SortSpec | null;
  onSortChange?: (s: SortSpec | null) => void;
  onRowClick?: (row: T) => void;
  id?: string;
  /** height of the scrolling area in px (default 420) */
  height?: number;
}

export class VirtualTable<T> {
  readonly root: HTMLElement;
  readonly status: HTMLElement;
  private readonly head: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly layer: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly rowHeight: number;
  private base: readonly T[] = [];
  private filter: ((row: T) => boolean) | null = null;
  private view: T[] = [];
  private sort: SortSpec | null;
  private pool: HTMLElement[] = [];
  private frame = 0;
  private headCells: HTMLElement[] = [];

  constructor(private readonly opts: VirtualTableOptions<T>) {
    this.rowHeight = opts.rowHeight ?? 22;
    this.sort = opts.sort ?? null;
    this.head = h('div', { class: 'vt-head', role: 'row', attrs: { 'aria-rowindex': 1 } });
    this.spacer = h('div', { class: 'vt-spacer' });
    this.layer = h('div', { class: 'vt-layer', role: 'rowgroup' });
    this.empty = h('div', { class: 'vt-empty' }, opts.emptyText ?? 'No rows');
    this.scroller = h('div', { class: 'vt-scroll', attrs: { tabindex: 0 } }, this.spacer, this.layer, this.empty);
    this.status = h('div', { class: 'vt-status', attrs: { 'aria-live': 'polite' } });
    this.root = h(
      'div',
      { class: 'vt', role: 'table', attrs: { 'aria-label': opts.label }, ...(opts.id ? { id: opts.id } : {}) },
      this.head,
      this.scroller,
      this.status,
    );
    this.root.style.setProperty('--vt-cols', opts.columns.map((c) => c.width ?? 'minmax(6rem, 1fr)').join(' '));
    this.root.style.setProperty('--vt-row-h', `${this.rowHeight}px`);
    if (opts.height) this.root.style.setProperty('--vt-height', `${opts.height}px`);
    this.buildHead();
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  private buildHead(): void {
    this.headCells = this.opts.columns.map((c) => {
      const cell = h(
        'div',
        {
          class: `vt-th${c.numeric ? ' vt-num' : ''}`,
          role: 'columnheader',
          attrs: { tabindex: 0, 'aria-sort': 'none' },
          dataset: { col: c.id },
          title: `Sort by ${c.title}`,
          on: {
            click: () => this.toggleSort(c),
            keydown: (e) => {
              const k = (e as KeyboardEvent).key;
              if (k === 'Enter' || k === ' ') {
                e.preventDefault();
                this.toggleSort(c);
              }
            },
          },
        },
        h('span', { class: 'vt-th-label' }, c.title),
        h('span', { class: 'vt-sort-mark', attrs: { 'aria-hidden': 'true' } }),
      );
      return cell;
    });
    this.head.replaceChildren(...this.headCells);
    this.updateHead();
  }

  private toggleSort(c: Column<T>): void {
    this.setSort(nextSort(this.sort, c.id, c.numeric));
    this.opts.onSortChange?.(this.sort);
  }

  private updateHead(): void {
    for (const cell of this.headCells) {
      const active = this.sort && this.sort.column === cell.dataset.col;
      cell.setAttribute('aria-sort', active ? (this.sort!.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      cell.querySelector('.vt-sort-mark')!.textContent = active ? (this.sort!.dir === 'asc' ? '▲' : '▼') : '';
    }
  }

  setRows(rows: readonly T[]): void {
    this.base = rows;
    this.recompute(true);
  }

  /** A new filter or sort order starts at the top of the table. */
  setFilter(pred: ((row: T) => boolean) | null): void {
    this.filter = pred;
    this.recompute(true);
  }

  setSort(s: SortSpec | null): void {
    this.sort = s;
    this.updateHead();
    this.recompute(true);
  }

  getSort(): SortSpec | null {
    return this.sort;
  }

  /** rows after filter and sort, as displayed */
  rows(): readonly T[] {
    return this.view;
  }

  private recompute(toTop = false): void {
    let v = this.filter ? this.base.filter(this.filter) : [...this.base];
    if (this.sort) {
      const col = this.opts.columns.find((c) => c.id === this.sort!.column);
      if (col) v = sortRows(v, col.value, this.sort.dir);
    }
    this.view = v;
    this.spacer.style.height = `${v.length * this.rowHeight}px`;
    this.root.setAttribute('aria-rowcount', String(v.length + 1));
    this.empty.hidden = v.length > 0;
    this.status.textContent =
      this.base.length === v.length ? `${v.length.toLocaleString('en-US')} rows` : `${v.length.toLocaleString('en-US')} of ${this.base.length.toLocaleString('en-US')} rows`;
    if (toTop) this.scroller.scrollTop = 0;
    this.render();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private makeRow(): HTMLElement {
    const row = h('div', { class: 'vt-row', role: 'row' });
    for (const c of this.opts.columns) row.appendChild(h('div', { class: `vt-td${c.numeric ? ' vt-num' : ''}`, role: 'cell' }));
    if (this.opts.onRowClick) {
      row.addEventListener('click', () => {
        const i = Number(row.dataset.index);
        const r = this.view[i];
        if (r !== undefined) this.opts.onRowClick!(r);
      });
    }
    return row;
  }

  /** Renders the rows in view into the recycled pool. */
  render(): void {
    const { start, end } = visibleRange(this.scroller.scrollTop, this.scroller.clientHeight || 400, this.rowHeight, this.view.length);
    const count = end - start;
    while (this.pool.length < count) {
      const r = this.makeRow();
      this.pool.push(r);
      this.layer.appendChild(r);
    }
    this.layer.style.transform = `translateY(${start * this.rowHeight}px)`;
    for (let i = 0; i < this.pool.length; i++) {
      const el = this.pool[i]!;
      const row = this.view[start + i];
      if (i >= count || row === undefined) {
        el.hidden = true;
        continue;
      }
      el.hidden = false;
      el.dataset.index = String(start + i);
      el.setAttribute('aria-rowindex', String(start + i + 2));
      const cells = el.children;
      this.opts.columns.forEach((c, j) => {
        const cell = cells[j] as HTMLElement;
        const v = c.value(row);
        const text = c.format ? c.format(row) : v === null || v === undefined ? '' : String(v);
        if (cell.textContent !== text) cell.textContent = text;
        if (c.tooltip) cell.title = text;
        cell.className = `vt-td${c.numeric ? ' vt-num' : ''}${c.cellClass ? ' ' + c.cellClass(row) : ''}`;
      });
    }
  }

  /** Scrolls so that row i (in view order) is visible. */
  scrollToIndex(i: number): void {
    this.scroller.scrollTop = Math.max(0, i * this.rowHeight - this.scroller.clientHeight / 2);
    this.render();
  }
}
