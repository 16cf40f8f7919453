import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { NodeSpill, SumsPool, SumTree, critBit, newFloatSums, shardLeaves, type FoldLayout, type SumNode } from '../../../src/compute/engine/partialSums';
import { testSeed } from '../../helpers/seed';
import { tmpDir } from '../../helpers/tmp';

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

/** Module-like names, sorted as the fold sorts them (UTF-8 bytes), and the trie's shape over them. */
function names(count: number, seed: number): string[] {
  const r = rng(seed);
  const parts = ['model', 'diffusion_model', 'input_blocks', 'output_blocks', 'attn1', 'to_k', 'to_q', 'norm', 'proj_in'];
  const set = new Set<string>();
  while (set.size < count) {
    const depth = 2 + Math.floor(r() * 4);
    set.add(Array.from({ length: depth }, () => (r() < 0.3 ? String(Math.floor(r() * 12)) : parts[Math.floor(r() * parts.length)]!)).join('.'));
  }
  return [...set].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function shape(sorted: string[]): Int32Array {
  return Int32Array.from(sorted.slice(1), (name, i) => critBit(Buffer.from(sorted[i]!), Buffer.from(name)));
}

function bits(n: SumNode): string {
  return [...n.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([c, s]) => c + Buffer.from(s.d2.buffer).toString('hex') + Buffer.from(s.dot.buffer).toString('hex') + Buffer.from(s.na.buffer).toString('hex') + Buffer.from(s.nb.buffer).toString('hex')).join('|');
}

test('the trie gives the same bits whatever order the leaves finish in, with or without a pool', (t) => {
  const seed = testSeed(t, 7);
  const r = rng(seed);
  for (const leaves of [1, 2, 3, 7, 8, 13, 37]) {
    const build = (order: number[], pooled: boolean) => {
      const tree = new SumTree(leaves, shape(names(leaves, leaves)), pooled ? new SumsPool(5) : undefined);
      for (const l of order) tree.insert(l, l + 1, leaf(l, 5, ['unet', 'vae', 'te']));
      return bits(tree.root());
    };
    const inOrder = build([...Array(leaves).keys()], false);
    for (let trial = 0; trial < 5; trial++) {
      if (leaves === 1) break;
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
  const crit = shape(names(leaves, 5));
  const full = new SumTree(leaves, crit);
  for (let l = 0; l < leaves; l++) full.insert(l, l + 1, leaf(l, 4, ['unet', 'vae']));
  const want = bits(full.root());
  // two "shards" with ranges that do not fall on node boundaries
  const parts = [
    [0, 9],
    [9, 23],
  ];
  const merged = new SumTree(leaves, crit);
  for (const [a, b] of parts) {
    const shard = new SumTree(leaves, crit);
    for (let l = a!; l < b!; l++) shard.insert(l, l + 1, leaf(l, 4, ['unet', 'vae']));
    const done = shard.finished();
    assert.equal(done.reduce((s, x) => s + x, 0), b! - a!);
    for (const n of shard.list()) {
      assert.ok(n.first >= a! && n.end <= b!, 'a node covers leaves of its shard only');
      merged.insert(n.first, n.end, n.sums);
    }
  }
  assert.equal(bits(merged.root()), want);
});

test('the trie over more names gives a pair the bits of the trie over its own names (the others adding +0)', (t) => {
  const seed = testSeed(t, 11);
  const r = rng(seed);
  const all = names(60, seed);
  for (let trial = 0; trial < 20; trial++) {
    const mine = all.filter(() => r() < 0.5);
    if (mine.length === 0) continue;
    // leaf values keyed by name, so both trees add the same numbers
    const value = (name: string): SumNode => leaf(all.indexOf(name), 3, ['unet']);
    const small = new SumTree(mine.length, shape(mine));
    mine.forEach((name, l) => small.insert(l, l + 1, value(name)));
    const big = new SumTree(all.length, shape(all));
    // the other names' leaves: zeros for every pair (a component the pair has, but no unit of the pair)
    all.forEach((name, l) => big.insert(l, l + 1, mine.includes(name) ? value(name) : new Map([['unet', newFloatSums(3)]])));
    assert.equal(bits(big.root()), bits(small.root()), `${mine.length} of ${all.length} names`);
  }
});

test('live nodes spilled to a file give the same bits and the same checkpoint nodes, and leave no file behind', (t) => {
  const seed = testSeed(t, 13);
  const r = rng(seed);
  const leaves = 57;
  const crit = shape(names(leaves, seed));
  const pairs = 6;
  const comps = ['unet', 'vae', 'te'];
  const dir = tmpDir('modeldiff-spill-');
  const memory = new SumTree(leaves, crit, new SumsPool(pairs));
  const spill = new NodeSpill(dir);
  // room for one component of one node: every other live node goes to the file
  const spilled = new SumTree(leaves, crit, new SumsPool(pairs), { file: spill, bytes: pairs * 32 });
  const order = [...Array(leaves).keys()];
  // in order, then a few out of order (as a pool hands them back)
  for (let i = 0; i + 1 < order.length; i += 1 + Math.floor(r() * 4)) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
  let spilledSome = false;
  order.forEach((l, i) => {
    memory.insert(l, l + 1, leaf(l, pairs, comps));
    spilled.insert(l, l + 1, leaf(l, pairs, comps));
    // the allowance, and the newest node (never spilled)
    const bound = pairs * 32 * (1 + comps.length);
    assert.ok(spilled.heldBytes() <= bound, `held ${spilled.heldBytes()} bytes`);
    if (memory.heldBytes() > bound) spilledSome = true;
    if (i % 9 === 4) {
      // what a checkpoint writes: the same nodes, the same bits
      const a = memory.list();
      const b = spilled.list();
      assert.deepEqual(b.map((n) => [n.first, n.end]), a.map((n) => [n.first, n.end]));
      a.forEach((n, k) => assert.equal(bits(b[k]!.sums), bits(n.sums)));
    }
  });
  assert.ok(spilledSome, 'the tree in memory held more than the allowance at some point');
  assert.equal(bits(spilled.root()), bits(memory.root()));
  assert.deepEqual(readdirSync(dir), [], 'the spill file is unlinked once open');
  spill.close();
});

test('shards share the leaves out by work, each leaf once, for any count', () => {
  const work = [5, 1, 1, 40, 3, 3, 3, 9, 0, 2, 7];
  const layout: FoldLayout = { leaves: work.length, leafOf: new Int32Array(0), position: new Int32Array(0), unitsOf: work.map(() => [1]), work, crit: new Int32Array(work.length - 1) };
  for (const count of [1, 2, 3, 4, 11, 20]) {
    const seen = new Uint8Array(work.length);
    for (let i = 0; i < count; i++) for (const [l, x] of shardLeaves(layout, i, count).entries()) if (x) seen[l]!++;
    assert.deepEqual([...seen], work.map(() => 1), `${count} shards`);
  }
});
