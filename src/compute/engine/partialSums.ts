import type { Plan } from './plan';
import type { WorkTask } from './workTask';

/**
 * The engine's partial sums, folded in an order fixed by the plan alone, so a run gives the same bits whichever
 * thread finishes first, and so does a run resumed from a checkpoint or put together from shards.
 *
 * Floating-point addition is commutative but not associative: the per-pair component sums are kept exact to the bit
 * only if every run adds the same numbers in the same grouping. The grouping here:
 * - a leaf is the units whose last item is in one task (the tasks of the full plan, in file order); a leaf's partial
 *   starts from zero and adds its units in fold order (the order the tasks list them);
 * - the leaves' partials are added up a fixed binary tree over leaf indices: node (h, k) covers leaves
 *   [k 2^h, (k+1) 2^h) and is left + right (a node whose right half is past the last leaf is its left child).
 * Any set of finished leaves is then a set of whole tree nodes, which is what a checkpoint or a shard stores, and
 * adding the rest later gives the bits an uninterrupted run gives. Live nodes are at most one per tree level for
 * each gap in the finished leaves (a few per worker), each the size of the components it touches times the pairs.
 * Counts (identical keys, non-finite keys...) are integers: their order does not matter and they are kept as totals.
 */

/** One component's float sums over a set of keys, per pair. */
export interface FloatSums {
  d2: Float64Array;
  dot: Float64Array;
  na: Float64Array;
  nb: Float64Array;
}

/** One component's counts, per pair. */
export interface CountSums {
  identicalKeys: Int32Array;
  equalKeys: Int32Array;
  nonFinite: Int32Array;
  bytesOnly: Int32Array;
}

export const FLOAT_FIELDS = ['d2', 'dot', 'na', 'nb'] as const;
export const COUNT_FIELDS = ['identicalKeys', 'equalKeys', 'nonFinite', 'bytesOnly'] as const;

export function newFloatSums(pairs: number): FloatSums {
  return { d2: new Float64Array(pairs), dot: new Float64Array(pairs), na: new Float64Array(pairs), nb: new Float64Array(pairs) };
}

export function newCountSums(pairs: number): CountSums {
  return { identicalKeys: new Int32Array(pairs), equalKeys: new Int32Array(pairs), nonFinite: new Int32Array(pairs), bytesOnly: new Int32Array(pairs) };
}

/**
 * Float sums arrays no longer in use, for the next leaf: a leaf's partial is components x pairs x 32 bytes (16 MB a
 * component at 1,000 models), and hundreds of leaves each allocating their own would leave the garbage collector
 * far behind. Arrays come back zeroed.
 */
export class SumsPool {
  private free: FloatSums[] = [];
  constructor(private readonly pairs: number) {}

  get(): FloatSums {
    const s = this.free.pop();
    if (!s) return newFloatSums(this.pairs);
    for (const f of FLOAT_FIELDS) s[f].fill(0);
    return s;
  }

  release(s: FloatSums): void {
    if (s.d2.length === this.pairs && this.free.length < 4) this.free.push(s);
  }
}

/** component -> sums; a component a node never touched is absent (all zeros). */
export type SumNode = Map<string, FloatSums>;

/** Where each unit's sums go: its leaf and its place in the fold order. */
export interface FoldLayout {
  leaves: number;
  /** unit id -> leaf */
  leafOf: Int32Array;
  /** unit id -> position in the fold order (health lists are kept in this order) */
  position: Int32Array;
  /** leaf -> its units in fold order */
  unitsOf: number[][];
  /** leaf -> elements x members it reads (for shards of equal work) */
  work: number[];
}

/** The fold layout of a plan's tasks (built over the whole plan, whatever part of it a run computes). */
export function foldLayout(plan: Plan, tasks: WorkTask[]): FoldLayout {
  const leafOf = new Int32Array(plan.units.length).fill(-1);
  const position = new Int32Array(plan.units.length).fill(-1);
  let next = 0;
  tasks.forEach((t, i) => {
    for (const it of t.items) {
      leafOf[it.unit] = i;
      if (position[it.unit] === -1) position[it.unit] = next++;
    }
  });
  const unitsOf: number[][] = tasks.map(() => []);
  const work = tasks.map(() => 0);
  const byPosition = plan.units.map((u) => u.id).sort((a, b) => position[a]! - position[b]!);
  for (const u of byPosition) {
    const leaf = leafOf[u]!;
    if (leaf < 0) continue;
    unitsOf[leaf]!.push(u);
    const unit = plan.units[u]!;
    work[leaf] += Math.max(unit.numel, 1) * unit.members.length;
  }
  return { leaves: tasks.length, leafOf, position, unitsOf, work };
}

/** Leaves [first, end) of node (h, k), cut at the last leaf. */
export function nodeRange(leaves: number, h: number, k: number): [number, number] {
  const first = k * 2 ** h;
  return [Math.min(first, leaves), Math.min(first + 2 ** h, leaves)];
}

function treeHeight(leaves: number): number {
  let h = 0;
  while (2 ** h < leaves) h++;
  return h;
}

export interface TreeNode {
  h: number;
  k: number;
  sums: SumNode;
}

/** The fixed-shape reduction of leaf partials (see the file comment). */
export class SumTree {
  private nodes = new Map<string, TreeNode>();
  private readonly height: number;

  constructor(
    readonly leaves: number,
    private readonly pool?: SumsPool,
  ) {
    this.height = treeHeight(leaves);
  }

  /** Adds a finished leaf (or a whole node from a checkpoint or a shard) and joins it with its finished siblings. */
  insert(h: number, k: number, sums: SumNode): void {
    for (;;) {
      if (h >= this.height) {
        this.nodes.set(`${h}:${k}`, { h, k, sums });
        return;
      }
      const sibling = k ^ 1;
      const [sFirst, sEnd] = nodeRange(this.leaves, h, sibling);
      if (sFirst < sEnd) {
        const other = this.nodes.get(`${h}:${sibling}`);
        if (!other) {
          this.nodes.set(`${h}:${k}`, { h, k, sums });
          return;
        }
        this.nodes.delete(`${h}:${sibling}`);
        sums = k & 1 ? addNodes(other.sums, sums, this.pool) : addNodes(sums, other.sums, this.pool);
      }
      h++;
      k >>= 1;
    }
  }

  /** The sums over every leaf (all must be finished). */
  root(): SumNode {
    if (this.leaves === 0) return new Map();
    const root = this.nodes.get(`${this.height}:0`);
    if (!root || this.nodes.size !== 1) throw new Error(`the partial sums are incomplete: ${this.finishedLeaves()} of ${this.leaves} leaves`);
    return root.sums;
  }

  /** The nodes held now: every finished leaf is in exactly one of them. */
  list(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => nodeRange(this.leaves, a.h, a.k)[0] - nodeRange(this.leaves, b.h, b.k)[0]);
  }

  finished(): Uint8Array {
    const done = new Uint8Array(this.leaves);
    for (const n of this.nodes.values()) {
      const [first, end] = nodeRange(this.leaves, n.h, n.k);
      done.fill(1, first, end);
    }
    return done;
  }

  finishedLeaves(): number {
    let n = 0;
    for (const x of this.finished()) n += x;
    return n;
  }
}

/** left + right, component by component, into left's arrays (addition is commutative, so this is right + left too). */
function addNodes(left: SumNode, right: SumNode, pool?: SumsPool): SumNode {
  for (const [c, r] of right) {
    const l = left.get(c);
    if (!l) {
      // 0 + x is x exactly: sums that start from +0 are never -0
      left.set(c, r);
      continue;
    }
    for (const f of FLOAT_FIELDS) {
      const a = l[f];
      const b = r[f];
      for (let i = 0; i < a.length; i++) a[i] += b[i]!;
    }
    pool?.release(r);
  }
  return left;
}

/** Shard i of n (0-based): the leaves whose work starts in [i/n, (i+1)/n) of the total. */
export function shardLeaves(layout: FoldLayout, index: number, count: number): Uint8Array {
  const total = layout.work.reduce((a, b) => a + b, 0);
  const mine = new Uint8Array(layout.leaves);
  let before = 0;
  for (let l = 0; l < layout.leaves; l++) {
    // integer arithmetic: the same split on every machine
    const at = count * before;
    if (at >= index * total && at < (index + 1) * total) mine[l] = 1;
    before += layout.work[l]!;
  }
  if (total === 0 && index === 0) mine.fill(1);
  return mine;
}
