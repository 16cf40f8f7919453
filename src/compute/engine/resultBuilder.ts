import type { LoadedModel } from '../model/loadModel';
import { MAX_HEALTH_KEYS, pairIndex, type ComponentDiff, type ComponentStatus, type Fp8Exactness, type PairResult, type TensorHealth } from '../../shared/result';
import { lazyArray } from '../output/lazyArray';
import type { PairAlignment, Plan, Unit } from './plan';
import type { UnitResult } from './runEngine';
import { FP8_E4M3FN, FP8_E5M2, isHalfDtype, isPlainFp8 } from './fp8Grid';
import { addNodes, newCountSums, newFloatSums, SumsPool, SumTree, type CountSums, type FoldLayout, type NodeSpill, type SumNode } from './partialSums';
import { UnionFind } from '../../shared/unionFind';
import { itemRoute } from './members';
import { pairSlot } from './workTask';

/** Where finished per-key rows go: layers.bin (a run, a merge) or a shard's own layers file. */
export interface RowSink {
  /** `values` are the caller's again once this returns (the builder fills them with the next rows). */
  writeRow(plane: number, key: number, values: Float32Array): void;
}

/** A key whose units are not all folded yet: its row so far, and how many of its units are in it. */
export interface PendingRow {
  folded: number;
  l2: Float32Array;
  cos: Float32Array;
}

/** A model's health findings: the keys at the smallest fold positions, and the totals. */
export interface HealthSums {
  nonFinite: [number, number][];
  allZero: [number, number][];
  nonFiniteCount: number;
  allZeroCount: number;
  /** storage facts (fp8Grid.ts): counts, so they add up in any order */
  halfPrecision?: Fp8Exactness;
  plainFp8?: TensorHealth['plainFp8'];
}

/** Adds the counters of `from` into `into` (both objects of one shape, or `into` missing). */
function addCounts<T extends object>(into: T | undefined, from: T | undefined): T | undefined {
  if (!from) return into;
  if (!into) return { ...from };
  for (const k of Object.keys(from) as (keyof T)[]) (into[k] as number) += from[k] as number;
  return into;
}

/** Everything folded so far, as a checkpoint or a shard stores it (checkpoint.ts writes and reads it). */
export interface FoldState {
  nodes: { first: number; end: number; sums: SumNode }[];
  counts: Map<string, CountSums>;
  rows: Map<number, PendingRow>;
  /** keys whose row is complete (written to the sink) */
  written: Uint8Array;
  health: HealthSums[];
  tensorsCompared: number;
  identicalGroups: number;
  /**
   * keys x models (index key * models + model): the identity class of the model's tensor of that key among the
   * members of its unit, named by the smallest model index in it (bit-identical tensors share it); -1: not folded yet,
   * or no such tensor. What lets a later run that reuses this one's sums tell which groups are identical.
   */
  classes: Int32Array;
  /** keys x models, as `classes`: how the engine computed the model's unit of that key (ROUTE_CODES; 0: not folded) */
  routes: Uint8Array;
}

/** FoldState.routes: the engine's route for a unit (engine/members.ts itemRoute), as stored. */
export const ROUTE_CODES = { pair: 1, f64: 2, bytes: 3 } as const;

/**
 * A run that reuses an earlier result (pipeline/incremental.ts): only the units with a wanted member are computed, and
 * of those only the pairs with a wanted member are folded; the rest comes from the earlier run's sums (`seedKept`,
 * `addKeptSums`).
 */
export interface ReuseMasks {
  /** model -> 1: new or changed (its pairs are computed) */
  wanted: Uint8Array;
  /** unit id -> 1: computed in this run */
  computed: Uint8Array;
}

/** What is kept of an earlier run, already in this run's model, key and pair numbering. */
export interface KeptState {
  counts: Map<string, CountSums>;
  /** per model (this run's index): its health sums, for the models not wanted */
  health: (HealthSums | null)[];
  /** keys x models, as FoldState.classes and routes: the models not wanted */
  classes: Int32Array;
  routes: Uint8Array;
}

/**
 * Bytes of live nodes' sums held in memory before the earliest go to the spill file (232 models: 0.8 MiB a component a
 * node, never reached; 1,000 models: 16 MiB).
 */
const HELD_SUMS_BYTES = 32 << 20;

/**
 * Folds unit results, as they arrive in any order, into per-pair component sums and per-key layer rows, in the fixed
 * order of partialSums.ts: a leaf's units wait until the leaf is whole, then are added in fold order. Memory is
 * components x pairs (counts, and the tree's few live nodes) plus the results of leaves still in flight.
 */
export class ResultBuilder {
  private readonly tree: SumTree;
  private readonly pool: SumsPool;
  private counts = new Map<string, CountSums>();
  private rows = new Map<number, PendingRow>();
  private freeRows: Float32Array[] = [];
  private written: Uint8Array;
  private health: HealthSums[];
  private waiting = new Map<number, Map<number, UnitResult>>();
  private unitsPerKey: Int32Array;
  private readonly P: number;
  private classes: Int32Array;
  private routes: Uint8Array;
  tensorsCompared = 0;
  identicalGroups = 0;

  constructor(
    private plan: Plan,
    private models: LoadedModel[],
    private sink: RowSink,
    readonly layout: FoldLayout,
    /** called after each leaf is folded (checkpoints) */
    private onLeaf?: () => void,
    private reuse?: ReuseMasks,
    /** where live nodes past HELD_SUMS_BYTES wait (none: all in memory) */
    spill?: NodeSpill,
  ) {
    const n = models.length;
    this.P = (n * (n - 1)) / 2;
    this.pool = new SumsPool(this.P);
    this.tree = new SumTree(layout.leaves, layout.crit, this.pool, spill ? { file: spill, bytes: HELD_SUMS_BYTES } : undefined);
    this.written = new Uint8Array(plan.keys.length);
    this.health = models.map(() => ({ nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 }));
    this.unitsPerKey = new Int32Array(plan.keys.length);
    for (const u of plan.units) if (!reuse || reuse.computed[u.id]) this.unitsPerKey[u.key]!++;
    this.classes = new Int32Array(plan.keys.length * n).fill(-1);
    this.routes = new Uint8Array(plan.keys.length * n);
  }

  /**
   * Takes in what an earlier run kept (before any unit is folded): the counts of the pairs of models not wanted, their
   * health and identity classes; the units not computed count as compared, and as identical groups when they are.
   */
  seedKept(k: KeptState): void {
    const n = this.models.length;
    for (const [c, cs] of k.counts) {
      const mine = this.countsOf(c);
      for (const f of ['identicalKeys', 'equalKeys', 'nonFinite', 'bytesOnly'] as const) for (let i = 0; i < this.P; i++) mine[f][i] += cs[f][i]!;
    }
    k.health.forEach((h, i) => {
      if (h) this.health[i] = h;
    });
    this.classes.set(k.classes);
    this.routes.set(k.routes);
    for (const u of this.plan.units) {
      if (this.reuse?.computed[u.id]) continue;
      this.tensorsCompared += u.members.length;
      const first = this.classes[u.key * n + u.members.model(0)]!;
      if (u.members.length > 1 && first >= 0 && u.members.models.every((model) => this.classes[u.key * n + model] === first)) this.identicalGroups++;
    }
  }

  /** Leaves with no unit to compute (reusing an earlier result: none holds a wanted model) are finished as they are. */
  addSkippedLeaves(): void {
    const finished = this.tree.finished();
    for (let l = 0; l < this.layout.leaves; l++) if (!finished[l] && this.layout.unitsOf[l]!.length === 0) this.tree.insert(l, l + 1, new Map());
  }

  /** Adds the kept float sums (zero at every pair this run computed, as this run's are at the pairs kept: exact). */
  addKeptSums(kept: SumNode): void {
    addNodes(this.tree.root(), kept);
  }

  /** Takes in a checkpoint's or a shard's state (its leaves must not be folded here again). */
  absorb(s: FoldState): void {
    for (const node of s.nodes) this.tree.insert(node.first, node.end, node.sums);
    for (const [c, cs] of s.counts) {
      const mine = this.countsOf(c);
      for (const f of ['identicalKeys', 'equalKeys', 'nonFinite', 'bytesOnly'] as const) for (let i = 0; i < this.P; i++) mine[f][i] += cs[f][i]!;
    }
    for (const [key, r] of s.rows) this.addRow(key, r.folded, r.l2, r.cos);
    for (let k = 0; k < s.written.length; k++) if (s.written[k]) this.written[k] = 1;
    s.health.forEach((h, i) => {
      const mine = this.health[i]!;
      mine.nonFiniteCount += h.nonFiniteCount;
      mine.allZeroCount += h.allZeroCount;
      const half = addCounts(mine.halfPrecision, h.halfPrecision);
      if (half) mine.halfPrecision = half;
      const plain = addCounts(mine.plainFp8, h.plainFp8);
      if (plain) mine.plainFp8 = plain;
      mine.nonFinite.push(...h.nonFinite);
      mine.allZero.push(...h.allZero);
      trim(mine.nonFinite);
      trim(mine.allZero);
    });
    this.tensorsCompared += s.tensorsCompared;
    this.identicalGroups += s.identicalGroups;
    for (let i = 0; i < s.classes.length && i < this.classes.length; i++) if (s.classes[i]! >= 0) this.classes[i] = s.classes[i]!;
    for (let i = 0; i < s.routes.length && i < this.routes.length; i++) if (s.routes[i]) this.routes[i] = s.routes[i]!;
  }

  state(): FoldState {
    return {
      nodes: this.tree.list(),
      counts: this.counts,
      rows: this.rows,
      written: this.written,
      health: this.health,
      tensorsCompared: this.tensorsCompared,
      identicalGroups: this.identicalGroups,
      classes: this.classes,
      routes: this.routes,
    };
  }

  /** Some unit has been folded (by this run or one it carries on from). */
  foldedWork(): boolean {
    return this.tensorsCompared > 0;
  }

  /** Leaves folded so far (from this run or absorbed). */
  finishedLeaves(): Uint8Array {
    return this.tree.finished();
  }

  addUnit(unit: Unit, r: UnitResult): void {
    const leaf = this.layout.leafOf[unit.id]!;
    let got = this.waiting.get(leaf);
    if (!got) this.waiting.set(leaf, (got = new Map()));
    got.set(unit.id, r);
    const units = this.layout.unitsOf[leaf]!;
    if (got.size < units.length) return;
    this.waiting.delete(leaf);
    const sums: SumNode = new Map();
    for (const u of units) this.foldUnit(this.plan.units[u]!, got.get(u)!, sums);
    this.tree.insert(leaf, leaf + 1, sums);
    this.onLeaf?.();
  }

  private countsOf(c: string): CountSums {
    let cs = this.counts.get(c);
    if (!cs) this.counts.set(c, (cs = newCountSums(this.P)));
    return cs;
  }

  private foldUnit(unit: Unit, r: UnitResult, sums: SumNode): void {
    const n = this.models.length;
    const c = this.plan.keyComponents[unit.key]!;
    let s = sums.get(c);
    if (!s) sums.set(c, (s = this.pool.get()));
    const counts = this.countsOf(c);
    const l2 = this.takeRow();
    const cos = this.takeRow();
    const m = r.m;
    this.recordHealth(unit, r);
    const wanted = this.reuse?.wanted;
    // identity classes: the pairs folded here, and (reusing an earlier run) the kept classes of the models not wanted
    const classes = new UnionFind(m);
    const models = unit.members.models;
    const classAt = (i: number) => unit.key * n + models[i]!;
    if (wanted) {
      for (let i = 0; i < m; i++) {
        if (wanted[models[i]!]) continue;
        for (let j = i + 1; j < m; j++) if (!wanted[models[j]!] && this.classes[classAt(i)] === this.classes[classAt(j)]) classes.union(i, j);
      }
    }
    // The loop runs once per pair of members of every unit (half a billion times at 1,000 models): the arrays are held
    // in locals, and p and at (pairIndex, pairSlot) step along each row, members being in ascending model order.
    const { identical: same, d2: D2, dot: DOT, sq, nonFinite } = r;
    const { identicalKeys, equalKeys, bytesOnly, nonFinite: nonFiniteKeys } = counts;
    const { d2: sumD2, dot: sumDot, na: sumNa, nb: sumNb } = s;
    for (let i = 0; i < m; i++) {
      const a = models[i]!;
      const wantedA = !wanted || wanted[a] === 1;
      const pBase = pairIndex(a, a + 1, n) - (a + 1);
      const atBase = pairSlot(i, i + 1, m) - (i + 1);
      const na = sq[i]!;
      const finiteA = !r.undecodable && !nonFinite[i];
      for (let j = i + 1; j < m; j++) {
        const b = models[j]!;
        if (!wantedA && !wanted![b]) continue;
        const p = pBase + b;
        const at = atBase + j;
        const identical = same[at] === 1;
        if (identical) {
          classes.union(i, j);
          identicalKeys[p]!++;
          equalKeys[p]!++;
        }
        const d2 = identical ? 0 : D2[at]!;
        const nb = sq[j]!;
        if (!(finiteA && !nonFinite[j] && Number.isFinite(d2))) {
          // Left out of l2; a bit-identical pair is still at distance exactly 0 in the per-layer table.
          if (r.undecodable) bytesOnly[p]!++;
          else nonFiniteKeys[p]!++;
          if (identical) l2[p] = 0;
          continue;
        }
        const dot = DOT[at]!;
        if (!identical && d2 === 0) equalKeys[p]!++;
        l2[p] = Math.sqrt(d2);
        sumDot[p] += dot;
        sumNa[p] += na;
        sumNb[p] += nb;
        sumD2[p] += d2;
        cos[p] = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN;
      }
    }
    this.tensorsCompared += m;
    const roots = classes.roots();
    const route = ROUTE_CODES[itemRoute(unit.members.refs())];
    for (let i = 0; i < m; i++) {
      this.classes[classAt(i)] = models[roots[i]!]!;
      this.routes[classAt(i)] = route;
    }
    if (m > 1 && roots.every((x) => x === 0)) this.identicalGroups++;
    this.addRow(unit.key, 1, l2, cos);
  }

  /** Adds `folded` units' cells to a key's row (each cell belongs to one unit: the others are NaN there). */
  private addRow(key: number, folded: number, l2: Float32Array, cos: Float32Array): void {
    let row = this.rows.get(key);
    if (!row) {
      row = { folded: 0, l2, cos };
      this.rows.set(key, row);
    } else {
      for (let p = 0; p < this.P; p++) {
        if (!Number.isNaN(l2[p]!)) row.l2[p] = l2[p]!;
        if (!Number.isNaN(cos[p]!)) row.cos[p] = cos[p]!;
      }
      this.giveRow(l2);
      this.giveRow(cos);
    }
    row.folded += folded;
    if (row.folded >= this.unitsPerKey[key]!) {
      this.sink.writeRow(0, key, row.l2);
      this.sink.writeRow(1, key, row.cos);
      this.written[key] = 1;
      this.rows.delete(key);
      this.giveRow(row.l2);
      this.giveRow(row.cos);
    }
  }

  /** A row of P values, all NaN (one of the few last given back: at 1,000 models a row is 2 MB, two a unit). */
  private takeRow(): Float32Array {
    return this.freeRows.pop()?.fill(NaN) ?? new Float32Array(this.P).fill(NaN);
  }

  private giveRow(row: Float32Array): void {
    if (this.freeRows.length < 4) this.freeRows.push(row);
  }

  private recordHealth(unit: Unit, r: UnitResult): void {
    if (r.undecodable) return;
    const pos = this.layout.position[unit.id]!;
    [...unit.members].forEach((mem, i) => {
      // (reusing an earlier run: the health of a model not wanted is the one it found)
      if (this.reuse && !this.reuse.wanted[mem.model]) return;
      const h = this.health[mem.model]!;
      if (unit.numel > 0 && !mem.ref.quant) {
        if (isHalfDtype(mem.ref.dtype)) {
          const p = (h.halfPrecision ??= { tensors: 0, params: 0, e4m3fnTensors: 0, e4m3fnParams: 0, e5m2Tensors: 0, e5m2Params: 0 });
          p.tensors++;
          p.params += unit.numel;
          if (r.fp8Grid[i]! & FP8_E4M3FN) (p.e4m3fnTensors++, (p.e4m3fnParams += unit.numel));
          if (r.fp8Grid[i]! & FP8_E5M2) (p.e5m2Tensors++, (p.e5m2Params += unit.numel));
        } else if (isPlainFp8(mem.ref.dtype)) {
          const p = (h.plainFp8 ??= { tensors: 0, params: 0, atMaxTensors: 0, atMaxParams: 0 });
          p.tensors++;
          p.params += unit.numel;
          if (r.fp8AtMax[i]) (p.atMaxTensors++, (p.atMaxParams += unit.numel));
        }
      }
      if (r.nonFinite[i]) {
        h.nonFiniteCount++;
        h.nonFinite.push([pos, unit.key]);
        if (h.nonFinite.length > 2 * MAX_HEALTH_KEYS) trim(h.nonFinite);
      } else if (r.allZero[i] && unit.numel > 0) {
        h.allZeroCount++;
        h.allZero.push([pos, unit.key]);
        if (h.allZero.length > 2 * MAX_HEALTH_KEYS) trim(h.allZero);
      }
    });
  }

  /** Writes every model's health lists (the keys first in fold order) into its info. */
  finishHealth(): void {
    this.health.forEach((h, i) => {
      trim(h.nonFinite);
      trim(h.allZero);
      this.models[i]!.info.tensorHealth = {
        nonFinite: h.nonFinite.map(([, k]) => this.plan.keys[k]!),
        allZero: h.allZero.map(([, k]) => this.plan.keys[k]!),
        nonFiniteCount: h.nonFiniteCount,
        allZeroCount: h.allZeroCount,
        ...(h.halfPrecision ? { halfPrecision: h.halfPrecision } : {}),
        ...(h.plainFp8 ? { plainFp8: h.plainFp8 } : {}),
      };
    });
  }

  /**
   * Every pair's result, as a read-only array whose items are made from the sums when they are read: 1,000 models are
   * 499,500 pairs, too many to hold as objects (result.json is written from it item by item). It keeps the sums and
   * the pairs' alignments, not the models or the plan's units.
   */
  pairs(): PairResult[] {
    const n = this.models.length;
    const sums = this.tree.root();
    const counts = this.counts;
    const alignments = this.plan.pairs;
    // pair p is (a, b) with rowStart[a] <= p < rowStart[a + 1]
    const rowStart = new Float64Array(n + 1);
    for (let a = 0; a < n; a++) rowStart[a + 1] = rowStart[a]! + (n - 1 - a);
    return lazyArray(this.P, (p) => {
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (rowStart[mid]! <= p) lo = mid;
        else hi = mid - 1;
      }
      const b = lo + 1 + (p - rowStart[lo]!);
      return pairResult(sums, counts, alignments.of(lo, b), p, lo, b);
    });
  }
}

const NO_SUMS = newFloatSums(0);

/** Pair p = (a, b), from the component sums and counts and the pair's alignment. */
function pairResult(sums: SumNode, countSums: Map<string, CountSums>, pp: PairAlignment, p: number, a: number, b: number): PairResult {
  const components: Record<string, ComponentDiff> = {};
  for (const [c, counts] of pp.components) {
    const s = sums.get(c) ?? NO_SUMS;
    const k = countSums.get(c);
    let status: ComponentStatus;
    let l2: number | null = null;
    let cosine: number | null = null;
    let identical = false;
    let equalValues = false;
    let changed = 0;
    const nonFinite = k?.nonFinite[p] ?? 0;
    const bytesOnly = k?.bytesOnly[p] ?? 0;
    const identicalKeys = k?.identicalKeys[p] ?? 0;
    const equalKeys = k?.equalKeys[p] ?? 0;
    const differentArch = counts.inA && counts.inB && counts.differentArch;
    if (!counts.inB) status = 'only_in_a';
    else if (!counts.inA) status = 'only_in_b';
    else if (differentArch || counts.shared === 0) status = 'not_comparable';
    else {
      const comparable = counts.shared - nonFinite - bytesOnly;
      if (comparable > 0) {
        l2 = Math.sqrt(s.d2[p] ?? 0);
        const den = (s.na[p] ?? 0) * (s.nb[p] ?? 0);
        cosine = den > 0 ? s.dot[p]! / Math.sqrt(den) : null;
      }
      const sameKeys = counts.only_a === 0 && counts.only_b === 0 && counts.mismatched === 0;
      identical = sameKeys && identicalKeys === counts.shared;
      equalValues = equalKeys === counts.shared;
      changed = counts.shared - equalKeys;
      status = identical ? 'identical' : equalValues ? 'equal_values' : comparable > 0 ? 'changed' : 'not_comparable';
    }
    components[c] = {
      status,
      ...(differentArch ? { reason: 'different_architectures' as const } : {}),
      l2,
      cosine,
      identical,
      equal_values: equalValues,
      shared: counts.shared,
      only_a: counts.only_a,
      only_b: counts.only_b,
      mismatched: counts.mismatched,
      dtype_diff: counts.dtype_diff,
      changed,
      non_finite: nonFinite,
      bytes_only: bytesOnly,
    };
  }
  return { a, b, components, differences: pp.differences };
}

/** Keeps the MAX_HEALTH_KEYS entries first in fold order, sorted. */
function trim(list: [number, number][]): void {
  list.sort((a, b) => a[0] - b[0]);
  if (list.length > MAX_HEALTH_KEYS) list.length = MAX_HEALTH_KEYS;
}
