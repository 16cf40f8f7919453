/**
 * The model network: nodes per model (coloured by cluster), edges whose length follows the distance (every pair, each
 * model's nearest, or the spanning-forest backbone), bit-identical and equal-value components as linked groups.
 * Pure: returns plain data that the vis-network wrapper draws.
 */
import type { CompareResult } from '../../shared/result';
import { UnionFind } from '../../shared/unionFind';
import type { DistanceMatrix } from './matrix';
import { identicalComponents } from './matrix';
import { modelName } from '../../shared/text';
import { formatNumber } from '../../shared/format';

export interface GraphNode {
  id: number;
  /** drawn beside the node; empty when labels show on hover only (many models) */
  label: string;
  /** tooltip text, the model's name first (plain text: vis-network sets it with innerText) */
  title: string;
  /** bit-identical group id: the smallest model index of the group (singletons: themselves) */
  group: number;
  /** flat cluster of the dendrogram (seriation.ts), -1 for a model alone; -1 everywhere when not clustered */
  cluster: number;
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

/**
 * Which pairs get an edge: `backbone` the minimum spanning forest (each model linked to its closest relative, n - 1
 * edges: readable at any size), `nearest` each model's NEAREST closest plus every identical or equal pair, `all` every
 * pair with a distance.
 */
export type EdgeMode = 'backbone' | 'nearest' | 'all';

export interface GraphOptions {
  /** hide value edges longer than this distance; null shows all */
  threshold: number | null;
  minLength?: number;
  maxLength?: number;
  /** default 'all' */
  mode?: EdgeMode;
  /** the spanning forest's pairs, for mode 'backbone' */
  backbone?: readonly { a: number; b: number }[];
  /** flat cluster per model (-1: alone) */
  clusters?: readonly number[];
  /** names in tooltips only, not beside the nodes */
  labelsOnHover?: boolean;
}

/** Above this many models the graph opens with the backbone and names on hover. */
export const DENSE_LIMIT = 30;
export const NEAREST = 4;
export const EDGE_MODE_LABEL: Readonly<Record<EdgeMode, string>> = { backbone: 'Backbone (spanning tree)', nearest: `${NEAREST} nearest`, all: 'All pairs' };

/** The edge mode a graph opens with. */
export function defaultEdgeMode(n: number): EdgeMode {
  return n > DENSE_LIMIT ? 'backbone' : 'all';
}

function unionFind(n: number, linked: (a: number, b: number) => boolean): number[] {
  const sets = new UnionFind(n);
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (linked(a, b)) sets.union(a, b);
  return sets.roots();
}

/** Groups of models whose component is bit-identical (result.json's status 'identical'). Returns group id per model. */
export function identicalGroups(m: DistanceMatrix): number[] {
  return unionFind(m.n, (a, b) => m.cells[a]![b]!.kind === 'identical');
}

/** Groups of models whose component holds equal values, bit-identical or not. Returns group id per model. */
export function equalValueGroups(m: DistanceMatrix): number[] {
  return unionFind(m.n, (a, b) => {
    const k = m.cells[a]![b]!.kind;
    return k === 'identical' || k === 'equal';
  });
}

/** Groups with more than one member, as lists of model indices. */
export function groupLists(groups: number[]): number[][] {
  const by = new Map<number, number[]>();
  groups.forEach((g, i) => by.set(g, [...(by.get(g) ?? []), i]));
  return [...by.values()].filter((l) => l.length > 1);
}

/** Equal-value groups that are not one bit-identical group (some member differs in bytes, dtypes or keys). */
export function equalNotIdenticalLists(m: DistanceMatrix): number[][] {
  const ident = identicalGroups(m);
  return groupLists(equalValueGroups(m)).filter((l) => l.some((i) => ident[i] !== ident[l[0]!]));
}

function drawable(m: DistanceMatrix, a: number, b: number): boolean {
  const k = m.cells[a]![b]!.kind;
  return k === 'identical' || k === 'equal' || k === 'same' || k === 'value';
}

/** The pairs that get an edge under a mode, as [a, b] with a < b. */
export function edgePairs(m: DistanceMatrix, mode: EdgeMode, backbone: readonly { a: number; b: number }[] = []): [number, number][] {
  if (mode === 'backbone') return backbone.filter((e) => drawable(m, e.a, e.b)).map((e) => [Math.min(e.a, e.b), Math.max(e.a, e.b)]);
  const out: [number, number][] = [];
  if (mode === 'all') {
    for (let a = 0; a < m.n; a++) for (let b = a + 1; b < m.n; b++) if (drawable(m, a, b)) out.push([a, b]);
    return out;
  }
  const keep = new Set<number>();
  for (let a = 0; a < m.n; a++) {
    const near: { b: number; d: number }[] = [];
    for (let b = 0; b < m.n; b++) {
      if (b === a || !drawable(m, a, b)) continue;
      const c = m.cells[a]![b]!;
      if (c.kind !== 'value') keep.add(Math.min(a, b) * m.n + Math.max(a, b));
      near.push({ b, d: c.distance ?? 0 });
    }
    near.sort((x, y) => x.d - y.d || x.b - y.b);
    for (const { b } of near.slice(0, NEAREST)) keep.add(Math.min(a, b) * m.n + Math.max(a, b));
  }
  return [...keep].sort((x, y) => x - y).map((k) => [Math.floor(k / m.n), k % m.n]);
}

export function buildGraph(result: CompareResult, m: DistanceMatrix, opts: GraphOptions): { nodes: GraphNode[]; edges: GraphEdge[]; groups: number[] } {
  const minLength = opts.minLength ?? 60;
  const maxLength = opts.maxLength ?? 420;
  const groups = identicalGroups(m);
  const lists = groupLists(groups);
  const equal = groupLists(equalValueGroups(m));
  const nodes: GraphNode[] = result.models.map((model, i) => {
    const same = lists.find((g) => g.includes(i));
    const eq = equal.find((g) => g.includes(i))?.filter((x) => !same?.includes(x) && x !== i);
    const title = [
      modelName(i, model.file),
      model.archDetail || model.arch,
      same ? `${m.component} bit-identical with ${same.filter((x) => x !== i).map((x) => '#' + x).join(', ')}` : '',
      eq?.length ? `${m.component} equal values (not bit-identical) with ${eq.map((x) => '#' + x).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    return { id: i, label: opts.labelsOnHover ? '' : modelName(i, model.file, 28), title, group: groups[i]!, cluster: opts.clusters?.[i] ?? -1 };
  });
  const edges: GraphEdge[] = [];
  const span = m.max !== null && m.min !== null ? m.max - m.min : 0;
  for (const [a, b] of edgePairs(m, opts.mode ?? 'all', opts.backbone)) {
    const c = m.cells[a]![b]!;
    const d = c.distance ?? 0;
    const same = identicalComponents(result, a, b);
    let length: number;
    if (c.kind !== 'value') length = minLength * 0.6;
    else if (span > 0) length = minLength + ((d - m.min!) / span) * (maxLength - minLength);
    else length = (minLength + maxLength) / 2;
    const label = c.kind === 'identical' ? '=' : c.kind === 'equal' ? '=v' : c.kind === 'same' ? '≈' : formatNumber(c.value, 4);
    const title = [
      `#${a} – #${b}`,
      `${m.component}: ${c.kind === 'value' ? formatNumber(c.value, 6) : c.kind === 'identical' ? 'bit-identical' : c.kind === 'same' ? 'same LoRA delta (to float rounding)' : 'equal values (not bit-identical)'}`,
      same.length ? `bit-identical components: ${same.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    const hidden = c.kind === 'value' && opts.threshold !== null && d > opts.threshold;
    edges.push({ id: `${a}-${b}`, from: a, to: b, kind: (c.kind === 'same' ? 'equal' : c.kind) as EdgeKind, distance: d, value: c.value, label, title, length, hidden });
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
