import { closeSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { outputError } from '../output/outputError';
import type { Plan, Unit } from './plan';

/**
 * The engine's partial sums, folded in an order fixed by key names alone, so a pair's sums have the same bits whichever
 * thread finishes first, whichever other models are in the run, and when the run is resumed from a checkpoint or put
 * together from shards.
 *
 * Floating-point addition is commutative but not associative: the per-pair component sums are kept exact to the bit
 * only if every run adds the same numbers in the same grouping. The grouping here:
 * - a leaf is a module: the units whose key names are equal up to their last '.' (a layer's weight and bias); its
 *   partial starts from zero and adds its units in the order of their names (then shape, component, kind);
 * - the leaves' partials are added up the binary trie of their names (a crit-bit tree: names as bit strings, each
 *   node the leaves that share a prefix, split at the first bit where they differ), each node left + right.
 * A unit a pair does not share adds nothing to that pair's sums, a subtree of such units adds +0 (sums start from +0
 * and are never -0), and the trie of a subset of names is the trie of all of them with those subtrees dropped: so a
 * pair's sums depend on its own units alone, not on the keys other models bring. Any set of finished leaves is a set
 * of whole nodes, which is what a checkpoint or a shard stores, and adding the rest later gives the bits an
 * uninterrupted run gives. Live nodes are the finished subtrees beside the path to the next leaf, each the size of the
 * components it touches times the pairs; the engine reads units in leaf order to keep them few.
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
  constructor(readonly pairs: number) {}

  get(): FloatSums {
    const s = this.free.pop();
    if (!s) return newFloatSums(this.pairs);
    for (const f of FLOAT_FIELDS) s[f].fill(0);
    return s;
  }

  release(s: FloatSums): void {
    // a few arrays, at most 16 MiB of them (one component's sums at 1,000 models)
    if (s.d2.length === this.pairs && this.free.length < 4 && (this.free.length + 1) * this.pairs * 32 <= 16 << 20) this.free.push(s);
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
  /** crit[l] (l < leaves - 1): the first bit at which the names of leaves l and l + 1 differ (the trie's shape) */
  crit: Int32Array;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** A unit's name in the fold order: its key, then what sets it apart from other units of that key. */
function unitName(plan: Plan, u: Unit): Buffer {
  return utf8(`${plan.keys[u.key]!}\u0000${u.group}`);
}

/** The module a key belongs to: its name up to the last '.' (the whole name when it has none). */
function leafName(key: string): string {
  const dot = key.lastIndexOf('.');
  return dot > 0 ? key.slice(0, dot) : key;
}

/** The first bit (from the most significant bit of the first byte) where a and b differ; a name ends in a 0 byte. */
export function critBit(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  const x = (i < a.length ? a[i]! : 0) ^ (i < b.length ? b[i]! : 0);
  return i * 8 + Math.clz32(x) - 24;
}

/** The fold layout of a plan (over the whole plan, whatever part of it a run computes): units by module name. */
export function foldLayout(plan: Plan): FoldLayout {
  const units = plan.units.map((u) => ({ u, leaf: utf8(leafName(plan.keys[u.key]!)), name: unitName(plan, u) }));
  units.sort((x, y) => Buffer.compare(x.leaf, y.leaf) || Buffer.compare(x.name, y.name));
  const leafOf = new Int32Array(plan.units.length).fill(-1);
  const position = new Int32Array(plan.units.length).fill(-1);
  const unitsOf: number[][] = [];
  const work: number[] = [];
  const names: Buffer[] = [];
  units.forEach(({ u, leaf }, i) => {
    if (!names.length || !names[names.length - 1]!.equals(leaf)) {
      names.push(leaf);
      unitsOf.push([]);
      work.push(0);
    }
    const l = names.length - 1;
    leafOf[u.id] = l;
    position[u.id] = i;
    unitsOf[l]!.push(u.id);
    work[l] += Math.max(u.numel, 1) * u.members.length;
  });
  const crit = new Int32Array(Math.max(0, names.length - 1));
  for (let l = 0; l + 1 < names.length; l++) crit[l] = critBit(names[l]!, names[l + 1]!);
  return { leaves: names.length, leafOf, position, unitsOf, work, crit };
}

/** Unit ids in fold order (the order the engine reads them in). */
export function foldOrder(layout: FoldLayout): number[] {
  return layout.unitsOf.flat();
}

export interface TreeNode {
  /** the node covers leaves [first, end) */
  first: number;
  end: number;
  /** (a spilled node's sums are read from its file each time this is read) */
  sums: SumNode;
}

/** Where a spilled node's sums are in the spill file. */
interface SpillRecord {
  at: number;
  pairs: number;
  components: string[];
}

/**
 * A file that holds live nodes' sums while they wait for their sibling: at 1,000 models a node is 16 MB a component,
 * and the path to the next leaf can have a dozen such nodes beside it. The file is unlinked as soon as it is open
 * (where the system allows it), so nothing is left behind however the run ends. Nodes wait in stack order (the
 * earliest spilled are joined last), so the space of the last record read is reused.
 */
export class NodeSpill {
  private fd: number | null = null;
  private readonly path: string;
  private unlinked = false;
  private records = new Set<SpillRecord>();
  private end = 0;

  /** The file is made in `dir` when a node is first spilled. */
  constructor(dir: string) {
    this.path = join(dir, `fold-spill-${process.pid}.tmp`);
  }

  private file(): number {
    if (this.fd !== null) return this.fd;
    this.fd = this.io(() => openSync(this.path, 'w+'));
    try {
      unlinkSync(this.path);
      this.unlinked = true;
    } catch {
      // (Windows: removed by close)
    }
    return this.fd;
  }

  put(sums: SumNode): SpillRecord {
    const fd = this.file();
    const components = [...sums.keys()].sort();
    const pairs = components.length ? sums.get(components[0]!)!.d2.length : 0;
    const rec: SpillRecord = { at: this.end, pairs, components };
    let pos = rec.at;
    for (const c of components) {
      for (const f of FLOAT_FIELDS) {
        const a = sums.get(c)![f];
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        for (let done = 0; done < bytes.length; ) done += this.io(() => writeSync(fd, bytes, done, bytes.length - done, pos + done));
        pos += bytes.length;
      }
    }
    this.records.add(rec);
    this.end = pos;
    return rec;
  }

  /** The sums of a record (arrays from `pool` when given); `release` forgets the record and frees its space. */
  get(rec: SpillRecord, pool: SumsPool | undefined, release: boolean): SumNode {
    const fd = this.file();
    const sums: SumNode = new Map();
    let pos = rec.at;
    for (const c of rec.components) {
      const s = (rec.pairs === pool?.pairs ? pool.get() : null) ?? newFloatSums(rec.pairs);
      for (const f of FLOAT_FIELDS) {
        const bytes = new Uint8Array(s[f].buffer, s[f].byteOffset, s[f].byteLength);
        for (let done = 0; done < bytes.length; ) {
          const n = this.io(() => readSync(fd, bytes, done, bytes.length - done, pos + done));
          if (n === 0) throw new Error('the fold spill file ends early');
          done += n;
        }
        pos += bytes.length;
      }
      sums.set(c, s);
    }
    if (release) {
      this.records.delete(rec);
      this.end = 0;
      for (const r of this.records) this.end = Math.max(this.end, r.at + r.components.length * FLOAT_FIELDS.length * r.pairs * 8);
    }
    return sums;
  }

  /** (a full disk names the file and says so, as any output does) */
  private io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw outputError(e, this.path, 'keep partial sums in the output folder');
    }
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    if (!this.unlinked) rmSync(this.path, { force: true });
    this.records.clear();
    this.end = 0;
  }
}

/** A node of the tree: its sums in memory, or in the spill file. */
interface HeldNode {
  first: number;
  end: number;
  sums: SumNode | null;
  spilled: SpillRecord | null;
}

/** The fixed-shape reduction of leaf partials (see the file comment). */
export class SumTree {
  private nodes = new Map<string, HeldNode>();

  constructor(
    readonly leaves: number,
    /** FoldLayout.crit: the trie's shape */
    private readonly crit: Int32Array,
    private readonly pool?: SumsPool,
    /** live nodes past `bytes` of sums in memory go to this file, the earliest first */
    private readonly spill?: { file: NodeSpill; bytes: number },
  ) {}

  /** Adds a finished leaf (or a whole node from a checkpoint or a shard) and joins it with its finished sibling. */
  insert(first: number, end: number, sums: SumNode): void {
    for (;;) {
      if (first === 0 && end === this.leaves) {
        this.hold(first, end, sums);
        return;
      }
      // the parent splits at the deeper of the node's two boundaries (a missing boundary is shallowest)
      const left = first > 0 ? this.crit[first - 1]! : -1;
      const right = end < this.leaves ? this.crit[end - 1]! : -1;
      let sFirst: number;
      let sEnd: number;
      if (left > right) {
        sEnd = first;
        sFirst = first - 1;
        while (sFirst > 0 && this.crit[sFirst - 1]! > left) sFirst--;
      } else {
        sFirst = end;
        sEnd = end + 1;
        while (sEnd < this.leaves && this.crit[sEnd - 1]! > right) sEnd++;
      }
      const other = this.nodes.get(`${sFirst}:${sEnd}`);
      if (!other) {
        this.hold(first, end, sums);
        return;
      }
      this.nodes.delete(`${sFirst}:${sEnd}`);
      const otherSums = this.sumsOf(other, true);
      sums = sFirst < first ? addNodes(otherSums, sums, this.pool) : addNodes(sums, otherSums, this.pool);
      first = Math.min(first, sFirst);
      end = Math.max(end, sEnd);
    }
  }

  /** The sums over every leaf (all must be finished). */
  root(): SumNode {
    if (this.leaves === 0) return new Map();
    const root = this.nodes.get(`0:${this.leaves}`);
    if (!root || this.nodes.size !== 1) throw new Error(`the partial sums are incomplete: ${this.finishedLeaves()} of ${this.leaves} leaves`);
    if (!root.sums) {
      root.sums = this.sumsOf(root, true);
      root.spilled = null;
    }
    return root.sums;
  }

  /** The nodes held now: every finished leaf is in exactly one of them (a spilled node's sums read when asked for). */
  list(): TreeNode[] {
    const read = (n: HeldNode) => this.sumsOf(n, false);
    return [...this.nodes.values()]
      .sort((a, b) => a.first - b.first)
      .map((n) => (n.sums ? { first: n.first, end: n.end, sums: n.sums } : { first: n.first, end: n.end, get sums() { return read(n); } }));
  }

  /** The sums of live nodes held in memory, in bytes. */
  heldBytes(): number {
    let bytes = 0;
    for (const n of this.nodes.values()) if (n.sums) bytes += sumsBytes(n.sums);
    return bytes;
  }

  private hold(first: number, end: number, sums: SumNode): void {
    this.nodes.set(`${first}:${end}`, { first, end, sums, spilled: null });
    if (!this.spill) return;
    // the nodes that wait longest are the earliest: they go to the file first (the newest always stays)
    let held = this.heldBytes();
    if (held <= this.spill.bytes) return;
    for (const n of [...this.nodes.values()].sort((a, b) => a.first - b.first)) {
      if (held <= this.spill.bytes) break;
      if (!n.sums || n.first === first) continue;
      held -= sumsBytes(n.sums);
      n.spilled = this.spill.file.put(n.sums);
      for (const s of n.sums.values()) this.pool?.release(s);
      n.sums = null;
    }
  }

  private sumsOf(n: HeldNode, release: boolean): SumNode {
    if (n.sums) return n.sums;
    return this.spill!.file.get(n.spilled!, release ? this.pool : undefined, release);
  }

  finished(): Uint8Array {
    const done = new Uint8Array(this.leaves);
    for (const n of this.nodes.values()) done.fill(1, n.first, n.end);
    return done;
  }

  finishedLeaves(): number {
    let n = 0;
    for (const x of this.finished()) n += x;
    return n;
  }
}

function sumsBytes(sums: SumNode): number {
  let bytes = 0;
  for (const s of sums.values()) bytes += s.d2.byteLength * FLOAT_FIELDS.length;
  return bytes;
}

/** left + right, component by component, into left's arrays (addition is commutative, so this is right + left too). */
export function addNodes(left: SumNode, right: SumNode, pool?: SumsPool): SumNode {
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
