/**
 * The model network: nodes per model, edges whose length follows the distance, identical components as linked
 * groups. Pure: returns plain data that the vis-network wrapper draws.
 */
import type { CompareResult } from '../../shared/result';
import { UnionFind } from '../../shared/unionFind';
import type { DistanceMatrix } from './matrix';
import { identicalComponents } from './matrix';
import { modelName } from '../../shared/text';
import { formatNumber } from '../../shared/format';

export interface GraphNode {
  id: number;
  label: string;
  /** tooltip text (plain text: vis-network sets it with innerText) */
  title: string;
  /** identical-group id: the smallest model index of the group (singletons: themselves) */
  group: number;
}

export type EdgeKind = 'identical' | 'equal' | 'value';

export interface GraphEdge {
  id: string;
  from: number;
  to: number;
  kind: EdgeKind;
  distance: number;
  value: number | null;
  label: string;
  title: string;
  length: number;
  hidden: boolean;
}

export interface GraphOptions {
  /** hide value edges longer than this distance; null shows all */
  threshold: number | null;
  minLength?: number;
  maxLength?: number;
}

/** Union-find groups of models whose component is identical (or equal in value). Returns group id per model. */
export function identicalGroups(m: DistanceMatrix, includeEqual = true): number[] {
  const sets = new UnionFind(m.n);
  for (let a = 0; a < m.n; a++) {
    for (let b = a + 1; b < m.n; b++) {
      const k = m.cells[a]![b]!.kind;
      if (k === 'identical' || (includeEqual && k === 'equal')) sets.union(a, b);
    }
  }
  return sets.roots();
}

/** Groups with more than one member, as lists of model indices. */
export function groupLists(groups: number[]): number[][] {
  const by = new Map<number, number[]>();
  groups.forEach((g, i) => by.set(g, [...(by.get(g) ?? []), i]));
  return [...by.values()].filter((l) => l.length > 1);
}

export function buildGraph(result: CompareResult, m: DistanceMatrix, opts: GraphOptions): { nodes: GraphNode[]; edges: GraphEdge[]; groups: number[] } {
  const minLength = opts.minLength ?? 60;
  const maxLength = opts.maxLength ?? 420;
  const groups = identicalGroups(m);
  const lists = groupLists(groups);
  const nodes: GraphNode[] = result.models.map((model, i) => {
    const same = lists.find((g) => g.includes(i));
    const title = [
      modelName(i, model.file),
      model.archDetail || model.arch,
      same ? `${m.component} identical with ${same.filter((x) => x !== i).map((x) => '#' + x).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    return { id: i, label: modelName(i, model.file, 28), title, group: groups[i]! };
  });
  const edges: GraphEdge[] = [];
  const span = m.max !== null && m.min !== null ? m.max - m.min : 0;
  for (let a = 0; a < m.n; a++) {
    for (let b = a + 1; b < m.n; b++) {
      const c = m.cells[a]![b]!;
      if (c.kind !== 'identical' && c.kind !== 'equal' && c.kind !== 'value') continue;
      const d = c.distance ?? 0;
      const same = identicalComponents(result, a, b);
      let length: number;
      if (c.kind !== 'value') length = minLength * 0.6;
      else if (span > 0) length = minLength + ((d - m.min!) / span) * (maxLength - minLength);
      else length = (minLength + maxLength) / 2;
      const label = c.kind === 'identical' ? '=' : c.kind === 'equal' ? '=v' : formatNumber(c.value, 4);
      const title = [
        `#${a} – #${b}`,
        `${m.component}: ${c.kind === 'value' ? String(c.value) : c.kind === 'identical' ? 'identical' : 'equal values'}`,
        same.length ? `identical components: ${same.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('\n');
      const hidden = c.kind === 'value' && opts.threshold !== null && d > opts.threshold;
      edges.push({ id: `${a}-${b}`, from: a, to: b, kind: c.kind, distance: d, value: c.value, label, title, length, hidden });
    }
  }
  return { nodes, edges, groups };
}

/** Slider range for the threshold: [0, max distance], with a step that gives ~200 positions. */
export function thresholdRange(m: DistanceMatrix): { min: number; max: number; step: number } {
  const max = m.max ?? 0;
  if (!(max > 0)) return { min: 0, max: 1, step: 0.01 };
  const raw = max / 200;
  const p = 10 ** Math.floor(Math.log10(raw));
  return { min: 0, max, step: Math.max(p, Number.MIN_VALUE) };
}

/** Above this many models only each model's nearest edges are drawn (plus identical ones). */
export const DENSE_LIMIT = 30;
export const NEAREST = 4;

export function sparsify(edges: GraphEdge[], n: number): GraphEdge[] {
  if (n <= DENSE_LIMIT) return edges;
  const keep = new Set<string>();
  const by = new Map<number, GraphEdge[]>();
  for (const e of edges) {
    if (e.kind !== 'value') keep.add(e.id);
    for (const x of [e.from, e.to]) {
      const list = by.get(x);
      if (list) list.push(e);
      else by.set(x, [e]);
    }
  }
  for (const list of by.values()) for (const e of list.sort((p, q) => p.distance - q.distance).slice(0, NEAREST)) keep.add(e.id);
  return edges.filter((e) => keep.has(e.id));
}
