/** Sorting and filtering for the virtualized tables. Pure. */

export type SortDir = 'asc' | 'desc';
export type CellValue = string | number | null | undefined;

export interface SortSpec {
  column: string;
  dir: SortDir;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Compares two cell values; null/undefined/NaN sort last whatever the direction. */
export function compareValues(a: CellValue, b: CellValue, dir: SortDir): number {
  const aNull = a === null || a === undefined || (typeof a === 'number' && Number.isNaN(a));
  const bNull = b === null || b === undefined || (typeof b === 'number' && Number.isNaN(b));
  if (aNull || bNull) return aNull === bNull ? 0 : aNull ? 1 : -1;
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') c = a < b ? -1 : a > b ? 1 : 0;
  else c = collator.compare(String(a), String(b));
  return dir === 'asc' ? c : -c;
}

/** Stable sort by one accessor (returns a new array). */
export function sortRows<T>(rows: readonly T[], get: (row: T) => CellValue, dir: SortDir): T[] {
  const idx = rows.map((r, i) => ({ r, i, v: get(r) }));
  idx.sort((x, y) => compareValues(x.v, y.v, dir) || x.i - y.i);
  return idx.map((x) => x.r);
}

/** Next sort state when a header is clicked: asc -> desc -> off (for the same column); a new column starts asc. */
export function nextSort(current: SortSpec | null, column: string, numeric = false): SortSpec | null {
  if (!current || current.column !== column) return { column, dir: numeric ? 'desc' : 'asc' };
  const first = numeric ? 'desc' : 'asc';
  if (current.dir === first) return { column, dir: first === 'asc' ? 'desc' : 'asc' };
  return null;
}

/**
 * A name filter: case-insensitive substring match of every space-separated term; a term starting with "-" excludes.
 * Empty query matches all.
 */
export function makeNameFilter(query: string): (name: string) => boolean {
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return () => true;
  const inc = terms.filter((t) => !t.startsWith('-') || t.length === 1);
  const exc = terms.filter((t) => t.startsWith('-') && t.length > 1).map((t) => t.slice(1));
  return (name) => {
    const n = name.toLowerCase();
    return inc.every((t) => n.includes(t)) && !exc.some((t) => n.includes(t));
  };
}

export interface RowFilter {
  text: string;
  /** '' or undefined: every component */
  component?: string;
}

export function filterRows<T>(rows: readonly T[], f: RowFilter, nameOf: (r: T) => string, componentOf?: (r: T) => string): T[] {
  const match = makeNameFilter(f.text);
  const comp = f.component || '';
  return rows.filter((r) => (!comp || !componentOf || componentOf(r) === comp) && match(nameOf(r)));
}

/** Range of rows to render for a virtualized viewport (with overscan), clamped to [0, total]. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): { start: number; end: number } {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(0, viewportHeight) / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + count + overscan);
  return { start: Math.min(start, end), end };
}
