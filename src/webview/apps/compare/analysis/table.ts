/** Small static tables for the analysis cards (a handful of rows each; the long lists use VirtualTable). */
import { h } from '../../../shared/dom';
import type { Child, Props } from '../../../shared/dom';

export function dataTable(id: string, label: string, headers: readonly Child[], rows: readonly HTMLTableRowElement[], props: Props = {}): HTMLTableElement {
  return h(
    'table',
    { ...props, class: `md-table ${props.class ?? ''}`.trim(), id, attrs: { 'aria-label': label, ...props.attrs } },
    h('thead', null, h('tr', null, ...headers.map((t) => h('th', { attrs: { scope: 'col' } }, t)))),
    h('tbody', null, ...rows),
  );
}

export function num(text: string, title?: string, na = false): HTMLTableCellElement {
  return h('td', { class: `md-num${na ? ' md-na' : ''}`, ...(title !== undefined ? { title } : {}) }, text);
}

export function cell(...children: Child[]): HTMLTableCellElement {
  return h('td', null, ...children);
}

export function rowHead(text: string, title?: string): HTMLTableCellElement {
  return h('th', { attrs: { scope: 'row' }, ...(title !== undefined ? { title } : {}) }, text);
}

/** A list in a cell, or a muted dash when empty. */
export function listCell(items: readonly Child[], empty = '—'): HTMLTableCellElement {
  return items.length ? h('td', null, h('ul', { class: 'md-cell-list' }, ...items.map((i) => h('li', null, i)))) : h('td', { class: 'md-muted' }, empty);
}
