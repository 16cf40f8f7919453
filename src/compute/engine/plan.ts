import type { TensorRef } from '../model/checkpoint';
import type { LoadedModel } from '../model/loadModel';
import type { KeySet, ModelTensors, RefLayout } from '../model/modelTensors';
import { sortComponents } from '../keys/components';
import type { FileIdentity } from '../io/regularFile';
import { MAX_LISTED_DIFFERENCES, type PairDifferences } from '../../shared/result';

export interface Member {
  model: number;
  ref: TensorRef;
}

/**
 * The models that hold a unit's key, in model order, and where the key is in each model's tables. A member's ref is
 * made when asked for (ModelTensors.refAt): 1,000 models of 1,145 keys are 1.1 million members.
 */
export class UnitMembers implements Iterable<Member> {
  constructor(
    private readonly tables: readonly ModelTensors[],
    /** the members' models, ascending */
    readonly models: Int32Array,
    private readonly slots: Int32Array,
  ) {}

  get length(): number {
    return this.models.length;
  }

  model(i: number): number {
    return this.models[i]!;
  }

  ref(i: number): TensorRef {
    return this.tables[this.models[i]!]!.refAt(this.slots[i]!);
  }

  /** Every member's ref, in member order (made anew each call). */
  refs(): TensorRef[] {
    return Array.from(this.models, (_, i) => this.ref(i));
  }

  *[Symbol.iterator](): IterableIterator<Member> {
    for (let i = 0; i < this.models.length; i++) yield { model: this.models[i]!, ref: this.ref(i) };
  }
}

/**
 * One canonical key and shape, with every model that has it as part of a component of the same architecture (one
 * model alone too: each tensor is read once). Equal names in components of different architectures (an SD3 and a
 * FLUX transformer share `final_layer.linear.bias`) are never in one unit, so they are never compared.
 */
export interface Unit {
  id: number;
  key: number;
  shape: number[];
  numel: number;
  members: UnitMembers;
  /** bytes to read for this unit, all members */
  bytes: number;
  /** what sets the unit apart from the key's other units (its shape, component and the component's kind) */
  group: string;
}

export interface ComponentCounts {
  inA: boolean;
  inB: boolean;
  /** the two models' components are of different architectures: nothing of theirs is compared */
  differentArch: boolean;
  shared: number;
  only_a: number;
  only_b: number;
  mismatched: number;
  dtype_diff: number;
}

/** What two models' key layouts give: per component the key counts, and the listed differences. */
export interface PairAlignment {
  components: Map<string, ComponentCounts>;
  differences: PairDifferences;
}

export interface PairPlan extends PairAlignment {
  a: number;
  b: number;
}

/**
 * Every pair's key alignment, held once per pair of distinct key layouts (a folder nearly always has one or a few),
 * never once per pair: 1,000 models are 499,500 pairs. Pair p (result.pairs order) is the p-th (a, b), a < b.
 */
export class PairPlans implements Iterable<PairPlan> {
  readonly length: number;

  constructor(
    private readonly models: number,
    private readonly layoutOf: Int32Array,
    private readonly layouts: number,
    private readonly byLayouts: Map<number, PairAlignment>,
  ) {
    this.length = (models * (models - 1)) / 2;
  }

  /** The alignment of models a < b (shared with every pair of the same two layouts). */
  of(a: number, b: number): PairAlignment {
    return this.byLayouts.get(this.layoutOf[a]! * this.layouts + this.layoutOf[b]!)!;
  }

  *[Symbol.iterator](): IterableIterator<PairPlan> {
    for (let a = 0; a < this.models; a++) for (let b = a + 1; b < this.models; b++) yield { a, b, ...this.of(a, b) };
  }
}

export interface Plan {
  keys: string[];
  keyComponents: string[];
  components: string[];
  units: Unit[];
  pairs: PairPlans;
  bytesTotal: number;
  /** path -> the version of the file its header was read from */
  files: Map<string, FileIdentity>;
}

export interface PlanOptions {
  /** compare only these components (null: all) */
  components: string[] | null;
  includeEma: boolean;
}

/** Aligns every model's keys from headers alone: which keys are shared, missing, or of another shape or dtype. */
export function makePlan(models: LoadedModel[], opts: PlanOptions): Plan {
  const wanted = (c: string) => (opts.components === null || opts.components.includes(c)) && (opts.includeEma || c !== 'ema');

  const keyIndex = new Map<string, number>();
  const keys: string[] = [];
  const keyComponents: string[] = [];
  for (const m of models) {
    for (const [key, { component }] of m.tensors) {
      if (!wanted(component) || keyIndex.has(key)) continue;
      keyIndex.set(key, keys.length);
      keys.push(key);
      keyComponents.push(component);
    }
  }
  const components = sortComponents(keyComponents);
  // Rows of the per-layer table: by component, then in the order the first model stores them.
  const order = keys.map((_, i) => i).sort((x, y) => components.indexOf(keyComponents[x]!) - components.indexOf(keyComponents[y]!) || x - y);
  const sortedKeys = order.map((i) => keys[i]!);
  const sortedComponents = order.map((i) => keyComponents[i]!);

  const units: Unit[] = [];
  const tables = models.map((m) => m.tensors);
  let bytesTotal = 0;
  sortedKeys.forEach((key, k) => {
    const byShape = new Map<string, { models: number[]; slots: number[] }>();
    tables.forEach((t, model) => {
      const slot = t.slot(key);
      if (slot === undefined) return;
      const component = t.componentAt(slot);
      const s = `${shapeText(t.shapeAt(slot))} ${component} ${models[model]!.kinds.get(component) ?? ''}`;
      let list = byShape.get(s);
      if (!list) byShape.set(s, (list = { models: [], slots: [] }));
      list.models.push(model);
      list.slots.push(slot);
    });
    for (const [group, list] of byShape) {
      const members = new UnitMembers(tables, Int32Array.from(list.models), Int32Array.from(list.slots));
      let bytes = 0;
      for (let i = 0; i < members.length; i++) bytes += members.ref(i).byteLength;
      bytesTotal += bytes;
      const first = members.ref(0);
      units.push({ id: units.length, key: k, shape: first.shape, numel: first.numel, members, bytes, group });
    }
  });

  const listCap = differenceListCap((models.length * (models.length - 1)) / 2);
  // A pair's plan depends only on the two models' key layouts: work each pair of layouts out once, on the first and
  // last models of those layouts (any a < b of the two layouts gives the same plan).
  const layoutOf = keyLayoutClasses(models);
  const layouts = layoutOf.reduce((top, l) => Math.max(top, l + 1), 0);
  const first = new Int32Array(layouts).fill(-1);
  const last = new Int32Array(layouts).fill(-1);
  layoutOf.forEach((l, i) => {
    if (first[l]! < 0) first[l] = i;
    last[l] = i;
  });
  const byLayouts = new Map<number, PairAlignment>();
  for (let la = 0; la < layouts; la++) {
    for (let lb = 0; lb < layouts; lb++) {
      const a = first[la]!;
      const b = last[lb]!;
      if (a >= b) continue;
      const { components, differences } = planPair(models, a, b, sortedKeys, sortedComponents, listCap);
      byLayouts.set(la * layouts + lb, { components, differences });
    }
  }
  const pairs = new PairPlans(models.length, layoutOf, layouts, byLayouts);
  const files = new Map<string, FileIdentity>();
  for (const m of models) for (const f of m.files) files.set(f.path, f.identity);
  return { keys: sortedKeys, keyComponents: sortedComponents, components, units, pairs, bytesTotal, files };
}

/**
 * Numbers the models' key layouts: two models get the same number when they hold the same canonical keys with the
 * same dtypes and shapes (what planPair looks at), whatever the order of their tensors.
 */
export function keyLayoutClasses(models: LoadedModel[]): Int32Array {
  const classOf = new Int32Array(models.length);
  const byDigest = new Map<string, number[]>();
  // models sharing their key set and ref layout objects (model/sharedHeaders.ts) are of one class at once
  const byTables = new Map<KeySet, Map<RefLayout, number>>();
  let next = 0;
  models.forEach((m, i) => {
    const { set, layout } = m.tensors;
    const known = byTables.get(set)?.get(layout);
    if (known !== undefined) {
      classOf[i] = classOf[known]!;
      return;
    }
    let withSet = byTables.get(set);
    if (!withSet) byTables.set(set, (withSet = new Map()));
    withSet.set(layout, i);
    const digest = layoutDigest(m.tensors);
    let reps = byDigest.get(digest);
    if (!reps) byDigest.set(digest, (reps = []));
    const same = reps.find((r) => sameLayout(models[r]!.tensors, m.tensors));
    if (same !== undefined) classOf[i] = classOf[same]!;
    else {
      reps.push(i);
      classOf[i] = next++;
    }
  });
  return classOf;
}

/** Order-independent: the tensor count and a sum of per-tensor string hashes (equality is then checked in full). */
function layoutDigest(t: ModelTensors): string {
  let sum = 0;
  for (let i = 0; i < t.size; i++) sum = (sum + fnv1a(`${t.set.keys[i]!}\0${t.dtypeAt(i)}\0${t.shapeAt(i).join(',')}`)) % 4294967296;
  return `${t.size}:${sum}`;
}

function sameLayout(x: ModelTensors, y: ModelTensors): boolean {
  if (x.size !== y.size) return false;
  for (let i = 0; i < x.size; i++) {
    const j = y.slot(x.set.keys[i]!);
    if (j === undefined || y.dtypeAt(j) !== x.dtypeAt(i)) return false;
    const a = x.shapeAt(i);
    const b = y.shapeAt(j);
    if (a.length !== b.length || a.some((d, k) => d !== b[k])) return false;
  }
  return true;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Entries listed in all the difference lists of a result together, at most (before the per-list floor): keeps
 *  result.json (and the panel, and the report) to tens of MB in a large folder mixing architectures. */
export const LISTED_DIFFERENCES_BUDGET = 400_000;

/** How many entries each difference list of a pair keeps; the counts in the components stay exact. */
export function differenceListCap(pairs: number): number {
  return Math.max(20, Math.min(MAX_LISTED_DIFFERENCES, Math.floor(LISTED_DIFFERENCES_BUDGET / Math.max(1, pairs))));
}

/** One pair's key alignment, key by key (makePlan shares it between pairs of the same two key layouts). */
export function planPair(models: LoadedModel[], a: number, b: number, keys: string[], keyComponents: string[], cap: number): PairPlan {
  const A = models[a]!.tensors;
  const B = models[b]!.tensors;
  const kindA = models[a]!.kinds;
  const kindB = models[b]!.kinds;
  const components = new Map<string, ComponentCounts>();
  const differences: PairDifferences = { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false };
  const push = <T>(list: T[], item: T) => {
    if (list.length < cap) list.push(item);
    else differences.truncated = true;
  };
  // Components of different architectures: by the two models' kinds, or a name in both that is another component
  // (or of another architecture) on one side, as when an unknown family's key is named like a known one's.
  const different = new Set<string>();
  const inA = new Set<string>();
  const inB = new Set<string>();
  keys.forEach((key, k) => {
    const ta = A.get(key);
    const tb = B.get(key);
    const c = keyComponents[k]!;
    if (ta) inA.add(c);
    if (tb) inB.add(c);
    if (ta && tb && (ta.component !== tb.component || kindA.get(ta.component) !== kindB.get(tb.component))) different.add(c);
  });
  for (const c of inA) if (inB.has(c) && kindA.get(c) !== kindB.get(c)) different.add(c);
  keys.forEach((key, k) => {
    const ta = A.get(key);
    const tb = B.get(key);
    if (!ta && !tb) return;
    const c = keyComponents[k]!;
    let counts = components.get(c);
    if (!counts) components.set(c, (counts = { inA: false, inB: false, differentArch: different.has(c), shared: 0, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0 }));
    if (ta) counts.inA = true;
    if (tb) counts.inB = true;
    if (counts.differentArch) {
      // every key of either side stays unmatched (listed as such, so the lists keep matching the counts)
      if (ta) (counts.only_a++, push(differences.only_a, key));
      if (tb) (counts.only_b++, push(differences.only_b, key));
    } else if (ta && !tb) {
      counts.only_a++;
      push(differences.only_a, key);
    } else if (tb && !ta) {
      counts.only_b++;
      push(differences.only_b, key);
    } else if (ta && tb) {
      if (ta.ref.dtype !== tb.ref.dtype) {
        counts.dtype_diff++;
        push(differences.dtype, { key, a: ta.ref.dtype, b: tb.ref.dtype });
      }
      if (shapeText(ta.ref.shape) !== shapeText(tb.ref.shape)) {
        counts.mismatched++;
        push(differences.mismatched, { key, a: shapeText(ta.ref.shape), b: shapeText(tb.ref.shape) });
      } else {
        counts.shared++;
      }
    }
  });
  return { a, b, components, differences };
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
