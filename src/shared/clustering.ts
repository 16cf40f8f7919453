/**
 * Clustering of a distance matrix with holes, for the family views (compute/analysis/family.ts) and the panel's
 * seriated heatmap, backbone graph and cluster colours (the webview, the report). Pure; O(n^2) memory.
 *
 * Distances come as a condensed upper triangle (`condensed`): NaN where a pair has no distance (not comparable,
 * absent component). Such a pair is left out of every mean and every tree, never counted as 0.
 *
 * - averageLinkage: UPGMA. The distance between two clusters is the mean over the model pairs across them that have
 *   one; two clusters without any such pair are never merged (the result can be a forest). The pair merged next is the
 *   least (height, lower id, higher id), so the tree does not depend on how the search is done; each cluster keeps its
 *   nearest neighbour, which makes a merge O(n) in the usual case instead of a scan of every pair.
 * - leafOrder: the leaves in dendrogram order; below OPTIMAL_ORDER_LIMIT leaves, the optimal leaf ordering (Bar-Joseph,
 *   Gifford and Jaakkola 2001: of the 2^(n-1) orders the tree allows, the one with the least sum of distances between
 *   neighbours; exact, O(n^3)). Trees of a forest follow one another, the largest first.
 * - minimumSpanningForest: Prim on the full matrix (O(n^2)); with ties broken by (weight, a, b) the tree is the one
 *   Kruskal gives, and the edges come sorted the same way.
 * - cutClusters: flat clusters from the dendrogram, cut where the merge heights drop the most.
 */
import type { DendrogramNode } from './analysis';

/** Index of pair (i, j), i != j, in a condensed upper triangle of n items. */
export function condensedIndex(i: number, j: number, n: number): number {
  if (i > j) [i, j] = [j, i];
  return i * n - (i * (i + 1)) / 2 + (j - i - 1);
}

/** The condensed upper triangle of d(i, j) (NaN where d gives null, undefined or a non-finite number). */
export function condensed(n: number, d: (i: number, j: number) => number | null | undefined): Float64Array {
  const out = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = d(i, j);
      out[p++] = v === null || v === undefined || !Number.isFinite(v) ? NaN : v;
    }
  return out;
}

export interface Linkage {
  /** leaves 0..n-1, then one node per merge (ids n, n+1...), children as [lower id, higher id] */
  nodes: DendrogramNode[];
  /** one per tree, ascending */
  roots: number[];
}

export function averageLinkage(n: number, dist: Float64Array): Linkage {
  const nodes: DendrogramNode[] = [];
  for (let i = 0; i < n; i++) nodes.push({ id: i, height: 0, size: 1 });
  // slot s holds cluster id[s]; sum[s*n+t] / cnt[s*n+t] over the linked pairs between the clusters of slots s and t
  const sum = new Float64Array(n * n);
  const cnt = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = dist[condensedIndex(i, j, n)]!;
      if (Number.isNaN(v)) continue;
      sum[i * n + j] = sum[j * n + i] = v;
      cnt[i * n + j] = cnt[j * n + i] = 1;
    }
  const id = Array.from({ length: n }, (_, i) => i);
  const active = new Uint8Array(n).fill(1);
  const nn = new Int32Array(n).fill(-1);
  const nnH = new Float64Array(n).fill(Infinity);
  // (h, lower id, higher id) of slots s-t is less than that of s-u
  const better = (h: number, s: number, t: number, h2: number, u: number): boolean => {
    if (u < 0) return true;
    if (h !== h2) return h < h2;
    const lo1 = Math.min(id[s]!, id[t]!);
    const lo2 = Math.min(id[s]!, id[u]!);
    if (lo1 !== lo2) return lo1 < lo2;
    return Math.max(id[s]!, id[t]!) < Math.max(id[s]!, id[u]!);
  };
  const scan = (s: number) => {
    nn[s] = -1;
    nnH[s] = Infinity;
    for (let t = 0; t < n; t++) {
      if (t === s || !active[t] || cnt[s * n + t] === 0) continue;
      const h = sum[s * n + t]! / cnt[s * n + t]!;
      if (better(h, s, t, nnH[s]!, nn[s]!)) {
        nn[s] = t;
        nnH[s] = h;
      }
    }
  };
  for (let s = 0; s < n; s++) scan(s);
  for (;;) {
    // the least (height, lower id, higher id) over every cluster's nearest neighbour
    let best = -1;
    for (let s = 0; s < n; s++) {
      if (!active[s] || nn[s]! < 0) continue;
      if (best < 0) {
        best = s;
        continue;
      }
      const h = nnH[s]!;
      const hb = nnH[best]!;
      if (h !== hb) {
        if (h < hb) best = s;
        continue;
      }
      const lo = Math.min(id[s]!, id[nn[s]!]!);
      const loB = Math.min(id[best]!, id[nn[best]!]!);
      const hi = Math.max(id[s]!, id[nn[s]!]!);
      const hiB = Math.max(id[best]!, id[nn[best]!]!);
      if (lo < loB || (lo === loB && hi < hiB)) best = s;
    }
    if (best < 0) break;
    let sa = best;
    let sb = nn[best]!;
    if (id[sa]! > id[sb]!) [sa, sb] = [sb, sa];
    const a = id[sa]!;
    const b = id[sb]!;
    const height = sum[sa * n + sb]! / cnt[sa * n + sb]!;
    const linked = cnt[sa * n + sb]!;
    const newId = nodes.length;
    nodes.push({ id: newId, children: [a, b], height, size: nodes[a]!.size + nodes[b]!.size, linkedPairs: linked });
    // the merged cluster takes slot sa
    for (let t = 0; t < n; t++) {
      if (!active[t] || t === sa || t === sb) continue;
      const s2 = sum[sa * n + t]! + sum[sb * n + t]!;
      const c2 = cnt[sa * n + t]! + cnt[sb * n + t]!;
      sum[sa * n + t] = sum[t * n + sa] = s2;
      cnt[sa * n + t] = cnt[t * n + sa] = c2;
    }
    active[sb] = 0;
    id[sa] = newId;
    scan(sa);
    for (let t = 0; t < n; t++) {
      if (!active[t] || t === sa) continue;
      if (nn[t] === sa || nn[t] === sb) scan(t);
      else if (cnt[t * n + sa]! > 0) {
        const h = sum[t * n + sa]! / cnt[t * n + sa]!;
        if (better(h, t, sa, nnH[t]!, nn[t]!)) {
          nn[t] = sa;
          nnH[t] = h;
        }
      }
    }
  }
  const roots: number[] = [];
  for (let s = 0; s < n; s++) if (active[s]) roots.push(id[s]!);
  return { nodes, roots: roots.sort((x, y) => x - y) };
}

/** Leaves ordered optimally up to this many (O(n^3)); beyond, in plain dendrogram order. */
export const OPTIMAL_ORDER_LIMIT = 400;

export interface LeafOrder {
  /** leaf ids (= matrix indexes) in display order */
  order: number[];
  /** the dendrogram's nodes with each node's children swapped, where needed, to follow `order` */
  nodes: DendrogramNode[];
  /** trees in display order (the largest first) */
  roots: number[];
  optimal: boolean;
}

export function leafOrder(n: number, dist: Float64Array, link: Linkage, opts: { optimal?: boolean } = {}): LeafOrder {
  const nodes = link.nodes;
  const leavesOf: number[][] = nodes.map(() => []);
  for (const node of nodes) leavesOf[node.id] = node.children ? [...leavesOf[node.children[0]]!, ...leavesOf[node.children[1]]!] : [node.id];
  const roots = [...link.roots].sort((x, y) => nodes[y]!.size - nodes[x]!.size || Math.min(...leavesOf[x]!) - Math.min(...leavesOf[y]!));
  const optimal = (opts.optimal ?? true) && n <= OPTIMAL_ORDER_LIMIT;
  let order: number[];
  if (!optimal) order = roots.flatMap((r) => leavesOf[r]!);
  else {
    let maxD = 0;
    for (const v of dist) if (v > maxD) maxD = v;
    // a pair without a distance may still end up side by side: it costs more than any real one
    const penalty = 2 * maxD + 1;
    const D = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const v = dist[condensedIndex(i, j, n)]!;
        D[i * n + j] = D[j * n + i] = Number.isNaN(v) ? penalty : v;
      }
    const rIndex = new Int32Array(n);
    const M = new Float64Array(n * n);
    const bestK = new Int32Array(n * n);
    const bestM = new Int32Array(n * n);
    // leaves of a node are a contiguous run of leavesOf[root]: membership by position
    const at = new Int32Array(n);
    const lo = new Int32Array(nodes.length);
    const place = (id: number, start: number): number => {
      lo[id] = start;
      const x = nodes[id]!;
      if (!x.children) {
        at[id] = start;
        return start + 1;
      }
      return place(x.children[1], place(x.children[0], start));
    };
    let next = 0;
    for (const r of link.roots) next = place(r, next);
    const contains = (id: number, leaf: number) => at[leaf]! >= lo[id]! && at[leaf]! < lo[id]! + nodes[id]!.size;
    // inner ends of a child: for outer end i, the leaves of the other grandchild (a leaf: itself)
    const inner = (child: number, i: number): number[] => {
      const c = nodes[child]!;
      if (!c.children) return [child];
      const [c1, c2] = c.children;
      return contains(c1, i) ? leavesOf[c2]! : leavesOf[c1]!;
    };
    for (const v of nodes) {
      if (!v.children) continue;
      const [L, R] = v.children;
      const LL = leavesOf[L]!;
      const RL = leavesOf[R]!;
      // T[i][m] = min over k (inner end of L for outer end i) of M(L, i, k) + D(k, m)
      const T = new Float64Array(LL.length * RL.length);
      const Tk = new Int32Array(LL.length * RL.length);
      const nR = RL.length;
      for (let ii = 0; ii < LL.length; ii++) {
        const i = LL[ii]!;
        const ks = inner(L, i);
        for (let mi = 0; mi < nR; mi++) {
          const m = RL[mi]!;
          let best = Infinity;
          let arg = -1;
          for (const k of ks) {
            const c = (k === i ? 0 : M[i * n + k]!) + D[k * n + m]!;
            if (c < best) {
              best = c;
              arg = k;
            }
          }
          T[ii * nR + mi] = best;
          Tk[ii * nR + mi] = arg;
        }
      }
      for (let mi = 0; mi < nR; mi++) rIndex[RL[mi]!] = mi;
      for (const j of RL) {
        const ms = inner(R, j);
        for (let ii = 0; ii < LL.length; ii++) {
          const i = LL[ii]!;
          let best = Infinity;
          let arg = -1;
          for (const m of ms) {
            const c = T[ii * nR + rIndex[m]!]! + (m === j ? 0 : M[m * n + j]!);
            if (c < best) {
              best = c;
              arg = m;
            }
          }
          M[i * n + j] = M[j * n + i] = best;
          bestM[i * n + j] = bestM[j * n + i] = arg;
          bestK[i * n + j] = bestK[j * n + i] = Tk[ii * nR + rIndex[arg]!]!;
        }
      }
    }
    const inLeft = (v: number, i: number) => contains(nodes[v]!.children![0], i);
    // leaves of v from outer end i to outer end j
    const walk = (v: number, i: number, j: number): number[] => {
      const node = nodes[v]!;
      if (!node.children) return [v];
      if (!inLeft(v, i)) return walk(v, j, i).reverse();
      const [L, R] = node.children;
      const k = bestK[i * n + j]!;
      const m = bestM[i * n + j]!;
      return [...walk(L, i, k), ...walk(R, m, j)];
    };
    order = [];
    for (const r of roots) {
      const node = nodes[r]!;
      if (!node.children) {
        order.push(r);
        continue;
      }
      const [L, R] = node.children;
      let bi = -1;
      let bj = -1;
      let best = Infinity;
      for (const i of leavesOf[L]!)
        for (const j of leavesOf[R]!)
          if (M[i * n + j]! < best || (M[i * n + j] === best && (i < bi || (i === bi && j < bj)))) {
            best = M[i * n + j]!;
            bi = i;
            bj = j;
          }
      order.push(...walk(r, bi, bj));
    }
  }
  const pos = new Int32Array(n);
  order.forEach((leaf, p) => (pos[leaf] = p));
  const first = (id: number): number => Math.min(...leavesOf[id]!.map((l) => pos[l]!));
  const oriented = nodes.map((node) => {
    if (!node.children) return { ...node };
    const [c1, c2] = node.children;
    return { ...node, children: (first(c1) <= first(c2) ? [c1, c2] : [c2, c1]) as [number, number] };
  });
  return { order, nodes: oriented, roots, optimal };
}

export interface ForestEdge {
  a: number;
  b: number;
  w: number;
}

/** Minimum spanning forest over the pairs that have a distance; edges sorted by (w, a, b), a < b. */
export function minimumSpanningForest(n: number, dist: Float64Array): ForestEdge[] {
  const inTree = new Uint8Array(n);
  const key = new Float64Array(n);
  const from = new Int32Array(n);
  const out: ForestEdge[] = [];
  // (w, lower, higher) of a candidate edge into t from s beats the current one into t
  const beats = (w: number, s: number, t: number): boolean => {
    const cur = from[t]!;
    if (cur < 0) return true;
    if (w !== key[t]) return w < key[t]!;
    const lo = Math.min(s, t);
    const loC = Math.min(cur, t);
    if (lo !== loC) return lo < loC;
    return Math.max(s, t) < Math.max(cur, t);
  };
  for (let start = 0; start < n; start++) {
    if (inTree[start]) continue;
    key.fill(Infinity);
    from.fill(-1);
    let s = start;
    inTree[s] = 1;
    const pending = new Set<number>();
    for (;;) {
      for (let t = 0; t < n; t++) {
        if (inTree[t] || t === s) continue;
        const w = dist[condensedIndex(s, t, n)]!;
        if (Number.isNaN(w)) continue;
        if (beats(w, s, t)) {
          key[t] = w;
          from[t] = s;
          pending.add(t);
        }
      }
      let next = -1;
      for (const t of pending) {
        if (next < 0) {
          next = t;
          continue;
        }
        const w = key[t]!;
        const wn = key[next]!;
        if (w !== wn) {
          if (w < wn) next = t;
          continue;
        }
        const lo = Math.min(t, from[t]!);
        const loN = Math.min(next, from[next]!);
        if (lo < loN || (lo === loN && Math.max(t, from[t]!) < Math.max(next, from[next]!))) next = t;
      }
      if (next < 0) break;
      pending.delete(next);
      inTree[next] = 1;
      const f = from[next]!;
      out.push({ a: Math.min(f, next), b: Math.max(f, next), w: key[next]! });
      s = next;
    }
  }
  return out.sort((x, y) => x.w - y.w || x.a - y.a || x.b - y.b);
}

export interface FlatClusters {
  /** cluster per leaf: 0, 1, 2... in order of first appearance along `order`; -1 for a leaf alone */
  cluster: number[];
  /** clusters with two members or more */
  count: number;
  /** the height the tree was cut at (merges above it are cut); null when nothing was cut */
  cutHeight: number | null;
}

/**
 * Flat clusters: the dendrogram cut where the merge heights drop the most (the largest ratio between consecutive merges,
 * highest first), considering only merges between groups (a model joining alone is an outlier, not a structure) and
 * at most `maxClusters` resulting groups. Leaves alone after the cut are -1.
 */
export function cutClusters(link: Linkage, order: readonly number[], maxClusters = 8): FlatClusters {
  const nodes = link.nodes;
  const n = nodes.filter((x) => !x.children).length;
  const structural = nodes
    .filter((x) => x.children && nodes[x.children[0]]!.size > 1 && nodes[x.children[1]]!.size > 1)
    .map((x) => x.height)
    .sort((x, y) => y - x);
  let cutHeight: number | null = null;
  let bestRatio = 1;
  for (let t = 1; t < Math.min(structural.length, maxClusters); t++) {
    const hi = structural[t - 1]!;
    const lo = structural[t]!;
    const ratio = lo > 0 ? hi / lo : hi > 0 ? Infinity : 1;
    if (ratio > bestRatio * 1.000001) {
      bestRatio = ratio;
      cutHeight = (hi + lo) / 2;
    }
  }
  if (cutHeight === null && structural.length === 1) cutHeight = structural[0]! * 0.999999;
  const label = new Array<number>(n).fill(-1);
  const groups: number[][] = [];
  const collect = (id: number, out: number[]) => {
    const x = nodes[id]!;
    if (!x.children) out.push(id);
    else for (const c of x.children) collect(c, out);
  };
  const visit = (id: number) => {
    const x = nodes[id]!;
    if (!x.children) return;
    if (cutHeight === null || x.height <= cutHeight) {
      const members: number[] = [];
      collect(id, members);
      groups.push(members);
      return;
    }
    for (const c of x.children) visit(c);
  };
  for (const r of link.roots) visit(r);
  const pos = new Map(order.map((leaf, p) => [leaf, p]));
  groups.sort((x, y) => Math.min(...x.map((l) => pos.get(l) ?? 0)) - Math.min(...y.map((l) => pos.get(l) ?? 0)));
  groups.forEach((g, c) => g.forEach((leaf) => (label[leaf] = c)));
  return { cluster: label, count: groups.length, cutHeight };
}

/** Everything the panel draws from one matrix's clustering: order, dendrogram, flat clusters and backbone. */
export interface Seriation {
  /** leaf (model) indexes in display order */
  order: number[];
  leaves: LeafOrder;
  link: Linkage;
  clusters: FlatClusters;
  /** minimum spanning forest of the distances (edges by leaf index) */
  backbone: ForestEdge[];
  /** the condensed distances it was computed from (NaN: none) */
  distances: Float64Array;
}

export function seriate(n: number, distances: Float64Array): Seriation {
  const link = averageLinkage(n, distances);
  const leaves = leafOrder(n, distances, link);
  return { order: leaves.order, leaves, link, clusters: cutClusters(link, leaves.order), backbone: minimumSpanningForest(n, distances), distances };
}
