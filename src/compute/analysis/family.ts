/**
 * Family views of a folder, per component, from the N x N L2 matrix of result.json:
 * - a dendrogram by average linkage (UPGMA): the distance between two clusters is the mean distance over the model
 *   pairs across them that have one. A pair that is not comparable (different shapes, NaN...) is left out of the
 *   mean instead of poisoning it; two clusters with no comparable pair are never merged, so the result can be a
 *   forest (several roots). Heights are the linkage distances (scipy's convention), so a pair merged at 0 is equal.
 * - a minimum spanning tree (Kruskal; a forest when the graph is not connected) of the comparable pairs, which links
 *   each model to its closest relative; edges are also oriented away from each tree's median (the model with the least
 *   total path length along the tree to the others) as a suggestion of who derived from whom. The direction is a heuristic:
 *   distances are symmetric and cannot tell a parent from a child.
 */
import { pairIndex, type CompareResult } from '../../shared/result';
import { UnionFind } from '../../shared/unionFind';
import type { Dendrogram, DendrogramNode, FamilyView, MstEdge, SpanningTree } from '../../shared/analysis';

export interface ComponentMatrix {
  component: string;
  /** the models that have the component (matrix order) */
  models: number[];
  /** models without it */
  absent: number[];
  /** d[i][j] between models[i] and models[j]; null when not comparable; 0 on the diagonal */
  d: (number | null)[][];
}

export function componentMatrix(result: CompareResult, component: string): ComponentMatrix {
  const n = result.models.length;
  const models: number[] = [];
  const absent: number[] = [];
  for (let i = 0; i < n; i++) (result.models[i]!.components[component] ? models : absent).push(i);
  const d = models.map((i) =>
    models.map((j) => {
      if (i === j) return 0;
      const l2 = result.pairs[pairIndex(i, j, n)]?.components[component]?.l2;
      return l2 === undefined ? null : l2;
    }),
  );
  return { component, models, absent, d };
}

/** Average-linkage clustering of a distance matrix with holes (pure). Leaves are 0..n-1 in matrix order. */
export function averageLinkage(d: readonly (readonly (number | null)[])[]): { nodes: DendrogramNode[]; roots: number[] } {
  const n = d.length;
  const nodes: DendrogramNode[] = [];
  for (let i = 0; i < n; i++) nodes.push({ id: i, height: 0, size: 1 });
  // cluster id -> (other cluster id -> [sum, count])
  const links = new Map<number, Map<number, [number, number]>>();
  for (let i = 0; i < n; i++) links.set(i, new Map());
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = d[i]![j] ?? d[j]![i] ?? null;
      if (v === null || !Number.isFinite(v)) continue;
      links.get(i)!.set(j, [v, 1]);
      links.get(j)!.set(i, [v, 1]);
    }
  const active = new Set<number>(Array.from({ length: n }, (_, i) => i));
  for (;;) {
    let best: [number, number] | null = null;
    let bestH = Infinity;
    for (const a of active) {
      for (const [b, [s, c]] of links.get(a)!) {
        if (b <= a || !active.has(b)) continue;
        const h = s / c;
        if (h < bestH || (h === bestH && best && (a < best[0] || (a === best[0] && b < best[1])))) {
          best = [a, b];
          bestH = h;
        }
      }
    }
    if (!best) break;
    const [a, b] = best;
    const id = nodes.length;
    const la = links.get(a)!;
    const lb = links.get(b)!;
    const merged = new Map<number, [number, number]>();
    for (const k of active) {
      if (k === a || k === b) continue;
      const x = la.get(k);
      const y = lb.get(k);
      if (!x && !y) continue;
      const e: [number, number] = [(x?.[0] ?? 0) + (y?.[0] ?? 0), (x?.[1] ?? 0) + (y?.[1] ?? 0)];
      merged.set(k, e);
      links.get(k)!.set(id, e);
      links.get(k)!.delete(a);
      links.get(k)!.delete(b);
    }
    links.set(id, merged);
    links.delete(a);
    links.delete(b);
    active.delete(a);
    active.delete(b);
    active.add(id);
    nodes.push({ id, children: [a, b], height: bestH, size: nodes[a]!.size + nodes[b]!.size, linkedPairs: la.get(b)![1] });
  }
  return { nodes, roots: [...active].sort((x, y) => x - y) };
}

/** Kruskal's minimum spanning forest over the finite entries of a distance matrix (pure). */
export function minimumSpanningForest(d: readonly (readonly (number | null)[])[]): { a: number; b: number; w: number }[] {
  const n = d.length;
  const edges: { a: number; b: number; w: number }[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = d[i]![j] ?? d[j]![i] ?? null;
      if (v !== null && Number.isFinite(v)) edges.push({ a: i, b: j, w: v });
    }
  edges.sort((x, y) => x.w - y.w || x.a - y.a || x.b - y.b);
  const sets = new UnionFind(n);
  return edges.filter((e) => sets.union(e.a, e.b));
}

/**
 * Roots each tree of a forest at its median (the member with the least total path length along the tree to the
 * others: the model the rest diverge from, in a family of fine-tunes) and orients the edges away from it (pure;
 * indices in matrix order).
 */
export function orientForest(d: readonly (readonly (number | null)[])[], edges: readonly { a: number; b: number; w: number }[]): { roots: number[]; directed: { parent: number; child: number; w: number }[] } {
  const n = d.length;
  const adj = Array.from({ length: n }, () => [] as { to: number; w: number }[]);
  for (const e of edges) {
    adj[e.a]!.push({ to: e.b, w: e.w });
    adj[e.b]!.push({ to: e.a, w: e.w });
  }
  const seen = new Uint8Array(n);
  const roots: number[] = [];
  const directed: { parent: number; child: number; w: number }[] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    // the tree's members
    const members: number[] = [];
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const x = stack.pop()!;
      members.push(x);
      for (const { to } of adj[x]!) if (!seen[to]) (seen[to] = 1), stack.push(to);
    }
    members.sort((x, y) => x - y);
    // the tree's median: least total path length (along the tree) to the other members
    let root = members[0]!;
    let bestSum = Infinity;
    for (const m of members) {
      const dist = new Map<number, number>([[m, 0]]);
      const q = [m];
      let sum = 0;
      while (q.length) {
        const x = q.pop()!;
        for (const { to, w } of adj[x]!) {
          if (dist.has(to)) continue;
          const dt = dist.get(x)! + w;
          dist.set(to, dt);
          sum += dt;
          q.push(to);
        }
      }
      if (sum < bestSum) (bestSum = sum), (root = m);
    }
    roots.push(root);
    const visited = new Set([root]);
    const queue = [root];
    while (queue.length) {
      const x = queue.shift()!;
      for (const { to, w } of [...adj[x]!].sort((p, q) => p.to - q.to)) {
        if (visited.has(to)) continue;
        visited.add(to);
        directed.push({ parent: x, child: to, w });
        queue.push(to);
      }
    }
  }
  return { roots, directed };
}

export function dendrogram(result: CompareResult, component: string, m = componentMatrix(result, component)): Dendrogram {
  const { nodes, roots } = averageLinkage(m.d);
  for (const node of nodes) {
    if (node.children) continue;
    node.model = m.models[node.id]!;
    node.file = result.models[node.model]!.file;
  }
  return { component, nodes, roots, absent: m.absent };
}

export function spanningTree(result: CompareResult, component: string, m = componentMatrix(result, component)): SpanningTree {
  const forest = minimumSpanningForest(m.d);
  const { roots, directed } = orientForest(m.d, forest);
  const edges: MstEdge[] = forest.map((e) => ({ a: m.models[e.a]!, b: m.models[e.b]!, l2: e.w }));
  return {
    component,
    edges,
    directed: directed.map((e) => ({ parent: m.models[e.parent]!, child: m.models[e.child]!, l2: e.w })),
    roots: roots.map((r) => m.models[r]!),
    absent: m.absent,
  };
}

export function familyView(result: CompareResult, component: string): FamilyView {
  const m = componentMatrix(result, component);
  return { component, dendrogram: dendrogram(result, component, m), mst: spanningTree(result, component, m) };
}

/** A family view for each component that at least two models have. */
export function familyViews(result: CompareResult): FamilyView[] {
  return result.components.filter((c) => result.models.filter((m) => m.components[c]).length >= 2).map((c) => familyView(result, c));
}
