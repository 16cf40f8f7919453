import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { averageLinkage, condensed, condensedIndex, cutClusters, leafOrder, minimumSpanningForest } from '../../../src/shared/clustering';
import type { DendrogramNode } from '../../../src/shared/analysis';
import { testSeed } from '../../helpers/seed';

/** The greedy textbook UPGMA with holes (every active pair scanned at each merge): the reference. */
function referenceLinkage(d: (number | null)[][]): { nodes: DendrogramNode[]; roots: number[] } {
  const n = d.length;
  const nodes: DendrogramNode[] = [];
  for (let i = 0; i < n; i++) nodes.push({ id: i, height: 0, size: 1 });
  const links = new Map<number, Map<number, [number, number]>>();
  for (let i = 0; i < n; i++) links.set(i, new Map());
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = d[i]![j];
      if (v === null || v === undefined) continue;
      links.get(i)!.set(j, [v, 1]);
      links.get(j)!.set(i, [v, 1]);
    }
  const active = new Set<number>(Array.from({ length: n }, (_, i) => i));
  for (;;) {
    let best: [number, number] | null = null;
    let bestH = Infinity;
    for (const a of active)
      for (const [b, [s, c]] of links.get(a)!) {
        if (b <= a || !active.has(b)) continue;
        const h = s / c;
        if (h < bestH || (h === bestH && best && (a < best[0] || (a === best[0] && b < best[1])))) {
          best = [a, b];
          bestH = h;
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
    active.delete(a);
    active.delete(b);
    active.add(id);
    nodes.push({ id, children: [a, b], height: bestH, size: nodes[a]!.size + nodes[b]!.size, linkedPairs: la.get(b)![1] });
  }
  return { nodes, roots: [...active].sort((x, y) => x - y) };
}

/** Kruskal with ties by (w, a, b): the reference spanning forest. */
function referenceForest(d: (number | null)[][]): { a: number; b: number; w: number }[] {
  const n = d.length;
  const edges: { a: number; b: number; w: number }[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (d[i]![j] !== null) edges.push({ a: i, b: j, w: d[i]![j]! });
  edges.sort((x, y) => x.w - y.w || x.a - y.a || x.b - y.b);
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  return edges.filter((e) => {
    const ra = find(e.a);
    const rb = find(e.b);
    if (ra === rb) return false;
    parent[ra] = rb;
    return true;
  });
}

/** A symmetric matrix with holes; small integer distances make ties common. */
const matrixArb = fc.integer({ min: 2, max: 12 }).chain((n) =>
  fc.array(fc.option(fc.integer({ min: 0, max: 6 }), { freq: 5 }), { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }).map((tri) => {
    const d: (number | null)[][] = Array.from({ length: n }, () => new Array<number | null>(n).fill(0));
    let p = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[i]![j] = d[j]![i] = tri[p++] ?? null;
    return d;
  }),
);

const cond = (d: (number | null)[][]) => condensed(d.length, (i, j) => d[i]![j]);

describe('shared clustering', () => {
  test('condensed index is the row-major upper triangle', () => {
    const n = 5;
    let p = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(condensedIndex(j, i, n), p++);
  });

  test('average linkage equals the greedy reference, ties and holes included', (t) => {
    fc.assert(
      fc.property(matrixArb, (d) => {
        assert.deepEqual(averageLinkage(d.length, cond(d)), referenceLinkage(d));
      }),
      { numRuns: 300, seed: testSeed(t, 7001) },
    );
  });

  test('spanning forest equals Kruskal with the same tie order', (t) => {
    fc.assert(
      fc.property(matrixArb, (d) => {
        assert.deepEqual(minimumSpanningForest(d.length, cond(d)), referenceForest(d));
      }),
      { numRuns: 300, seed: testSeed(t, 7002) },
    );
  });

  test('optimal leaf order: the least neighbour sum of all the orders the tree allows', (t) => {
    const sumOf = (order: number[], d: (number | null)[][], penalty: number) => order.slice(1).reduce((s, x, i) => s + (d[order[i]!]![x] ?? penalty), 0);
    fc.assert(
      fc.property(
        matrixArb.filter((d) => d.length <= 8),
        (d) => {
          const n = d.length;
          const c = cond(d);
          const link = averageLinkage(n, c);
          const lo = leafOrder(n, c, link);
          assert.deepEqual([...lo.order].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
          const maxD = Math.max(0, ...d.flat().filter((x): x is number => x !== null));
          const penalty = 2 * maxD + 1;
          // every order the forest allows: each inner node flipped or not, trees in the same sequence
          const inner = link.nodes.filter((x) => x.children);
          let best = Infinity;
          for (let mask = 0; mask < 1 << inner.length; mask++) {
            const flip = new Set(inner.filter((_, k) => mask & (1 << k)).map((x) => x.id));
            const leaves = (id: number): number[] => {
              const x = link.nodes[id]!;
              if (!x.children) return [id];
              const [a, b] = flip.has(id) ? [x.children[1], x.children[0]] : x.children;
              return [...leaves(a), ...leaves(b)];
            };
            // trees are ordered alike in both; only the sum inside and across them counts
            best = Math.min(best, sumOf(lo.roots.flatMap(leaves), d, penalty));
          }
          assert.ok(Math.abs(sumOf(lo.order, d, penalty) - best) < 1e-9, `order sum ${sumOf(lo.order, d, penalty)} vs best ${best}`);
          // the oriented nodes draw the same order
          const drawn: number[] = [];
          const walk = (id: number) => {
            const x = lo.nodes[id]!;
            if (!x.children) drawn.push(id);
            else x.children.forEach(walk);
          };
          lo.roots.forEach(walk);
          assert.deepEqual(drawn, lo.order);
        },
      ),
      { numRuns: 200, seed: testSeed(t, 7003) },
    );
  });

  test('seriation and the cut find planted families in a shuffled order', () => {
    // 5 families of 6 models, file order shuffled, one outlier far from all
    const n = 31;
    const family = Array.from({ length: n }, (_, i) => (i === 30 ? -1 : (i * 7) % 5));
    const pos = (i: number) => (family[i] === -1 ? [40, 40] : [family[i]! * 10, (i % 6) * 0.3]);
    const d: (number | null)[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.hypot(pos(i)[0]! - pos(j)[0]!, pos(i)[1]! - pos(j)[1]!)));
    const c = cond(d);
    const link = averageLinkage(n, c);
    const { order } = leafOrder(n, c, link);
    // each family is one contiguous run of the order
    const runs = order.map((i) => family[i]).filter((f, k, a) => k === 0 || f !== a[k - 1]);
    assert.equal(runs.length, 6, `families contiguous: ${order.map((i) => family[i]).join(',')}`);
    const cut = cutClusters(link, order);
    assert.equal(cut.count, 5);
    assert.equal(cut.cluster[30], -1, 'the outlier is alone');
    for (let i = 0; i < 30; i++) for (let j = 0; j < 30; j++) assert.equal(cut.cluster[i] === cut.cluster[j], family[i] === family[j]);
  });

  test('232 models cluster quickly', () => {
    const n = 232;
    const d = (i: number, j: number) => Math.abs(Math.sin(i * 12.9898) * 43758.5453 % 1 - Math.sin(j * 12.9898) * 43758.5453 % 1) + ((i % 8) === (j % 8) ? 0 : 1);
    const c = condensed(n, d);
    const link = averageLinkage(n, c);
    const lo = leafOrder(n, c, link);
    assert.equal(lo.order.length, n);
    assert.equal(cutClusters(link, lo.order).count, 8);
  });
});
