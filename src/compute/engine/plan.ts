import type { TensorRef } from '../model/checkpoint';
import type { LoadedModel } from '../model/loadModel';
import { sortComponents } from '../keys/components';
import type { FileIdentity } from '../io/regularFile';
import { MAX_LISTED_DIFFERENCES, type PairDifferences } from '../../shared/result';

export interface Member {
  model: number;
  ref: TensorRef;
}

/** One canonical key and shape, with every model that has it (one model alone too: each tensor is read once). */
export interface Unit {
  id: number;
  key: number;
  shape: number[];
  numel: number;
  members: Member[];
  /** bytes to read for this unit, all members */
  bytes: number;
}

export interface ComponentCounts {
  inA: boolean;
  inB: boolean;
  shared: number;
  only_a: number;
  only_b: number;
  mismatched: number;
  dtype_diff: number;
}

export interface PairPlan {
  a: number;
  b: number;
  components: Map<string, ComponentCounts>;
  differences: PairDifferences;
}

export interface Plan {
  keys: string[];
  keyComponents: string[];
  components: string[];
  units: Unit[];
  pairs: PairPlan[];
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
  let bytesTotal = 0;
  sortedKeys.forEach((key, k) => {
    const byShape = new Map<string, Member[]>();
    models.forEach((m, model) => {
      const t = m.tensors.get(key);
      if (!t) return;
      const s = shapeText(t.ref.shape);
      let list = byShape.get(s);
      if (!list) byShape.set(s, (list = []));
      list.push({ model, ref: t.ref });
    });
    for (const members of byShape.values()) {
      const bytes = members.reduce((s, mem) => s + mem.ref.byteLength, 0);
      bytesTotal += bytes;
      units.push({ id: units.length, key: k, shape: members[0]!.ref.shape, numel: members[0]!.ref.numel, members, bytes });
    }
  });

  const pairs: PairPlan[] = [];
  const listCap = differenceListCap((models.length * (models.length - 1)) / 2);
  for (let a = 0; a < models.length; a++) {
    for (let b = a + 1; b < models.length; b++) pairs.push(planPair(models, a, b, sortedKeys, sortedComponents, listCap));
  }
  const files = new Map<string, FileIdentity>();
  for (const m of models) for (const f of m.files) files.set(f.path, f.identity);
  return { keys: sortedKeys, keyComponents: sortedComponents, components, units, pairs, bytesTotal, files };
}

/** Entries listed in all the difference lists of a result together, at most (before the per-list floor): keeps
 *  result.json (and the panel, and the report) to tens of MB in a large folder mixing architectures. */
export const LISTED_DIFFERENCES_BUDGET = 400_000;

/** How many entries each difference list of a pair keeps; the counts in the components stay exact. */
export function differenceListCap(pairs: number): number {
  return Math.max(20, Math.min(MAX_LISTED_DIFFERENCES, Math.floor(LISTED_DIFFERENCES_BUDGET / Math.max(1, pairs))));
}

function planPair(models: LoadedModel[], a: number, b: number, keys: string[], keyComponents: string[], cap: number): PairPlan {
  const A = models[a]!.tensors;
  const B = models[b]!.tensors;
  const components = new Map<string, ComponentCounts>();
  const differences: PairDifferences = { only_a: [], only_b: [], mismatched: [], dtype: [], truncated: false };
  const push = <T>(list: T[], item: T) => {
    if (list.length < cap) list.push(item);
    else differences.truncated = true;
  };
  keys.forEach((key, k) => {
    const ta = A.get(key);
    const tb = B.get(key);
    if (!ta && !tb) return;
    const c = keyComponents[k]!;
    let counts = components.get(c);
    if (!counts) components.set(c, (counts = { inA: false, inB: false, shared: 0, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0 }));
    if (ta) counts.inA = true;
    if (tb) counts.inB = true;
    if (ta && !tb) {
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
