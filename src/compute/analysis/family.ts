/**
 * Family views of a folder, per component, from the N x N L2 matrix of result.json:
 * - a dendrogram by average linkage (UPGMA): the distance between two clusters is the mean distance over the model
 *   pairs across them that have one. A pair that is not comparable (different shapes, NaN...) is left out of the
 *   mean instead of poisoning it; two clusters with no comparable pair are never merged, so the result can be a
 *   forest (several roots). Heights are the linkage distances (scipy's convention); a merge at 0 is a distance of 0, which is not bit-identity.
 * - a minimum spanning tree (a forest when the graph is not connected) of the comparable pairs, which links
 *   each model to its closest relative; edges are also oriented away from each tree's median (the model with the least
 *   total path length along the tree to the others) as a suggestion of who derived from whom. The direction is a heuristic:
 *   distances are symmetric and cannot tell a parent from a child.
 * The clustering itself lives in src/shared/clustering.ts, which the panel's seriated heatmap and graph share.
 */
import { pairIndex, type CompareResult } from '../../shared/result';
import type { Dendrogram, DendrogramNode, FamilyView, MstEdge, SpanningTree } from '../../shared/analysis';
import { averageLinkage as sharedAverageLinkage, condensed, minimumSpanningForest as sharedSpanningForest } from '../../shared/clustering';

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

/** A matrix with holes (either triangle may hold the value) as the condensed triangle src/shared/clustering.ts takes. */
function condensedOf(d: readonly (readonly (number | null)[])[]): Float64Array {
  return condensed(d.length, (i, j) => d[i]![j] ?? d[j]![i] ?? null);
}

/** Average-linkage clustering of a distance matrix with holes (pure). Leaves are 0..n-1 in matrix order. */
export function averageLinkage(d: readonly (readonly (number | null)[])[]): { nodes: DendrogramNode[]; roots: number[] } {
  return sharedAverageLinkage(d.length, condensedOf(d));
}

/** Minimum spanning forest over the finite entries of a distance matrix (pure), edges by increasing weight. */
export function minimumSpanningForest(d: readonly (readonly (number | null)[])[]): { a: number; b: number; w: number }[] {
  return sharedSpanningForest(d.length, condensedOf(d));
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
