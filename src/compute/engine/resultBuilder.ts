import type { LoadedModel } from '../model/loadModel';
import { MAX_HEALTH_KEYS, pairIndex, type ComponentDiff, type ComponentStatus, type PairResult } from '../../shared/result';
import type { LayersWriter } from '../output/layersFile';
import { lazyArray } from '../output/lazyArray';
import type { PairAlignment, Plan, Unit } from './plan';
import type { UnitResult } from './runEngine';
import { FP8_E4M3FN, FP8_E5M2, isHalfDtype, isPlainFp8 } from './fp8Grid';

/** Per pair and component, sums over the shared keys seen so far. */
interface Sums {
  d2: Float64Array;
  dot: Float64Array;
  na: Float64Array;
  nb: Float64Array;
  identicalKeys: Int32Array;
  equalKeys: Int32Array;
  nonFinite: Int32Array;
  bytesOnly: Int32Array;
}

/**
 * Folds unit results, as they arrive in any order, into per-pair component sums and per-key layer rows.
 * Memory is components x pairs plus the rows of keys still in flight.
 */
export class ResultBuilder {
  private sums = new Map<string, Sums>();
  private rowsPending = new Map<number, { remaining: number; l2: Float32Array; cos: Float32Array }>();
  private unitsPerKey: Int32Array;
  private readonly P: number;
  tensorsCompared = 0;
  identicalGroups = 0;

  constructor(
    private plan: Plan,
    private models: LoadedModel[],
    private layers: LayersWriter,
  ) {
    const n = models.length;
    this.P = (n * (n - 1)) / 2;
    for (const c of plan.components) {
      this.sums.set(c, {
        d2: new Float64Array(this.P),
        dot: new Float64Array(this.P),
        na: new Float64Array(this.P),
        nb: new Float64Array(this.P),
        identicalKeys: new Int32Array(this.P),
        equalKeys: new Int32Array(this.P),
        nonFinite: new Int32Array(this.P),
        bytesOnly: new Int32Array(this.P),
      });
    }
    this.unitsPerKey = new Int32Array(plan.keys.length);
    for (const u of plan.units) this.unitsPerKey[u.key]!++;
  }

  addUnit(unit: Unit, r: UnitResult): void {
    const n = this.models.length;
    const s = this.sums.get(this.plan.keyComponents[unit.key]!)!;
    let row = this.rowsPending.get(unit.key);
    if (!row) {
      row = { remaining: this.unitsPerKey[unit.key]!, l2: new Float32Array(this.P).fill(NaN), cos: new Float32Array(this.P).fill(NaN) };
      this.rowsPending.set(unit.key, row);
    }
    const m = r.m;
    this.recordHealth(unit, r);
    let allIdentical = true;
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        const p = pairIndex(unit.members[i]!.model, unit.members[j]!.model, n);
        const identical = r.identical[i * m + j] === 1;
        allIdentical &&= identical;
        if (identical) {
          s.identicalKeys[p]!++;
          s.equalKeys[p]!++;
        }
        const d2 = identical ? 0 : r.d2[i * m + j]!;
        const dot = r.dot[i * m + j]!;
        const na = r.dot[i * m + i]!;
        const nb = r.dot[j * m + j]!;
        const valuesFinite = !r.undecodable && !r.nonFinite[i] && !r.nonFinite[j] && Number.isFinite(d2);
        if (!valuesFinite) {
          // Left out of l2; a bit-identical pair is still at distance exactly 0 in the per-layer table.
          if (r.undecodable) s.bytesOnly[p]!++;
          else s.nonFinite[p]!++;
          if (identical) row.l2[p] = 0;
          continue;
        }
        if (!identical && d2 === 0) s.equalKeys[p]!++;
        row.l2[p] = Math.sqrt(d2);
        s.dot[p] += dot;
        s.na[p] += na;
        s.nb[p] += nb;
        s.d2[p] += d2;
        row.cos[p] = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN;
      }
    }
    this.tensorsCompared += m;
    if (allIdentical && m > 1) this.identicalGroups++;
    if (--row.remaining === 0) {
      this.layers.writeRow(0, unit.key, row.l2);
      this.layers.writeRow(1, unit.key, row.cos);
      this.rowsPending.delete(unit.key);
    }
  }

  private recordHealth(unit: Unit, r: UnitResult): void {
    if (r.undecodable) return;
    const key = this.plan.keys[unit.key]!;
    unit.members.forEach((mem, i) => {
      const h = this.models[mem.model]!.info.tensorHealth;
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
        if (h.nonFiniteCount++ < MAX_HEALTH_KEYS) h.nonFinite.push(key);
      } else if (r.allZero[i] && unit.numel > 0) {
        if (h.allZeroCount++ < MAX_HEALTH_KEYS) h.allZero.push(key);
      }
    });
  }

  /**
   * Every pair's result, as a read-only array whose items are made from the sums when they are read: 1,000 models are
   * 499,500 pairs, too many to hold as objects (result.json is written from it item by item). It keeps the sums and
   * the pairs' alignments, not the models or the plan's units.
   */
  pairs(): PairResult[] {
    const n = this.models.length;
    const sums = this.sums;
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
      return pairResult(sums, alignments.of(lo, b), p, lo, b);
    });
  }
}

/** Pair p = (a, b), from the component sums and the pair's alignment. */
function pairResult(sums: Map<string, Sums>, pp: PairAlignment, p: number, a: number, b: number): PairResult {
  const components: Record<string, ComponentDiff> = {};
  for (const [c, counts] of pp.components) {
    const s = sums.get(c)!;
    let status: ComponentStatus;
    let l2: number | null = null;
    let cosine: number | null = null;
    let identical = false;
    let equalValues = false;
    let changed = 0;
    const nonFinite = s.nonFinite[p]!;
    const bytesOnly = s.bytesOnly[p]!;
    const differentArch = counts.inA && counts.inB && counts.differentArch;
    if (!counts.inB) status = 'only_in_a';
    else if (!counts.inA) status = 'only_in_b';
    else if (differentArch || counts.shared === 0) status = 'not_comparable';
    else {
      const comparable = counts.shared - nonFinite - bytesOnly;
      if (comparable > 0) {
        l2 = Math.sqrt(s.d2[p]!);
        const den = s.na[p]! * s.nb[p]!;
        cosine = den > 0 ? s.dot[p]! / Math.sqrt(den) : null;
      }
      const sameKeys = counts.only_a === 0 && counts.only_b === 0 && counts.mismatched === 0;
      identical = sameKeys && s.identicalKeys[p] === counts.shared;
      equalValues = s.equalKeys[p] === counts.shared;
      changed = counts.shared - s.equalKeys[p]!;
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
