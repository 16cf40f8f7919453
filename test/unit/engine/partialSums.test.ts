import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SumsPool, SumTree, newFloatSums, nodeRange, shardLeaves, type FoldLayout, type SumNode } from '../../../src/compute/engine/partialSums';
import { testSeed } from '../../helpers/seed';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Leaf partials of wildly different magnitudes: a sum whose bits depend on the grouping. */
function leaf(l: number, pairs: number, comps: string[]): SumNode {
  const r = rng(1000 + l);
  const node: SumNode = new Map();
  for (const c of comps) {
    if (r() < 0.3) continue;
    const s = newFloatSums(pairs);
    for (const f of ['d2', 'dot', 'na', 'nb'] as const) for (let p = 0; p < pairs; p++) s[f][p] = (r() - 0.2) * 10 ** Math.floor(r() * 12 - 6);
    node.set(c, s);
  }
  return node;
}

function bits(n: SumNode): string {
  return [...n.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([c, s]) => c + Buffer.from(s.d2.buffer).toString('hex') + Buffer.from(s.dot.buffer).toString('hex') + Buffer.from(s.na.buffer).toString('hex') + Buffer.from(s.nb.buffer).toString('hex')).join('|');
}

test('the tree gives the same bits whatever order the leaves finish in, with or without a pool', (t) => {
  const seed = testSeed(t, 7);
  const r = rng(seed);
  for (const leaves of [1, 2, 3, 7, 8, 13, 37]) {
    const build = (order: number[], pooled: boolean) => {
      const tree = new SumTree(leaves, pooled ? new SumsPool(5) : undefined);
      for (const l of order) tree.insert(0, l, leaf(l, 5, ['unet', 'vae', 'te']));
      return bits(tree.root());
    };
    const inOrder = build([...Array(leaves).keys()], false);
    for (let trial = 0; trial < 5; trial++) {
      const order = [...Array(leaves).keys()];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      assert.equal(build(order, trial % 2 === 1), inOrder, `${leaves} leaves in the order ${order.join(',')}`);
    }
  }
});

test('a partial tree is whole nodes, and re-inserting them elsewhere gives the same root (checkpoint, shards)', () => {
  const leaves = 23;
  const full = new SumTree(leaves);
  for (let l = 0; l < leaves; l++) full.insert(0, l, leaf(l, 4, ['unet', 'vae']));
  const want = bits(full.root());
  // two "shards" with ranges that do not fall on node boundaries
  const parts = [
    [0, 9],
    [9, 23],
  ];
  const merged = new SumTree(leaves);
  for (const [a, b] of parts) {
    const shard = new SumTree(leaves);
    for (let l = a!; l < b!; l++) shard.insert(0, l, leaf(l, 4, ['unet', 'vae']));
    const done = shard.finished();
    assert.equal(done.reduce((s, x) => s + x, 0), b! - a!);
    for (const n of shard.list()) {
      const [first, end] = nodeRange(leaves, n.h, n.k);
      assert.ok(first >= a! && end <= b!, 'a node covers leaves of its shard only');
      merged.insert(n.h, n.k, n.sums);
    }
  }
  assert.equal(bits(merged.root()), want);
});

test('shards share the leaves out by work, each leaf once, for any count', () => {
  const work = [5, 1, 1, 40, 3, 3, 3, 9, 0, 2, 7];
  const layout: FoldLayout = { leaves: work.length, leafOf: new Int32Array(0), position: new Int32Array(0), unitsOf: work.map(() => [1]), work };
  for (const count of [1, 2, 3, 4, 11, 20]) {
    const seen = new Uint8Array(work.length);
    for (let i = 0; i < count; i++) for (const [l, x] of shardLeaves(layout, i, count).entries()) if (x) seen[l]!++;
    assert.deepEqual([...seen], work.map(() => 1), `${count} shards`);
  }
});
