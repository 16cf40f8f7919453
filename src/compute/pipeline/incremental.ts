import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pairIndex, type IncrementalStats } from '../../shared/result';
import { formatInt } from '../../shared/format';
import { describeOptions, readSumsFile, readSumsInputs, SUMS_FILE, type SumsFile, type SumsFingerprint } from '../engine/checkpoint';
import { COUNT_FIELDS, newCountSums, newFloatSums, type CountSums, type FoldLayout, type SumNode } from '../engine/partialSums';
import { ROUTE_CODES, type HealthSums, type KeptState, type ReuseMasks, type RowSink } from '../engine/resultBuilder';
import { itemRoute } from '../engine/members';
import type { Plan } from '../engine/plan';
import { readLayerRow, readLayersShape } from '../output/layersFile';
import { RESULT_FILE } from '../output/resultFiles';

/**
 * Incremental compare (issue 12): a compare run whose output folder (or, for the extension, an earlier result folder
 * of the same inputs) holds a finished result reuses it. Models are matched by the fingerprint the result's partial
 * sums keep (checkpoint.ts: every file's path, size and mtime, and a digest of the tensor table): a model whose files
 * and header are unchanged is kept, one that changed is removed and new again. Only the units holding a new (or
 * changed) model are read, and only the pairs with such a model are folded; every other pair's sums, counts and
 * per-layer values are copied from the earlier result, re-indexed into this run's model, key and pair order. Because
 * a pair's numbers do not depend on the other models of the run (the engine's contract, engine/runTask.ts), the result
 * is the one a fresh run writes, byte for byte (result.json bar the run statistics: see test/integration/incremental).
 * Only removed models: nothing is read at all.
 */

/** An earlier result this run can add to, or null (with a notice saying why, when there was one). */
export interface Previous {
  dir: string;
  sums: SumsFile & { keyNames: string[] };
}

/** Reads the partial sums beside an earlier result; null when there is nothing to reuse (the reason told). */
export function readPrevious(dir: string, notice: (m: string) => void): Previous | null {
  if (!existsSync(join(dir, RESULT_FILE))) return null;
  const path = join(dir, SUMS_FILE);
  const fresh = (why: string) => {
    notice(`the result in ${dir} is not reused (${why}): computing every pair`);
    return null;
  };
  if (!existsSync(path)) return fresh('it keeps no partial sums: written by an earlier modeldiff');
  let sums: SumsFile;
  try {
    sums = readSumsFile(path);
  } catch (e) {
    return fresh(`its partial sums cannot be read: ${(e as Error).message}`);
  }
  if (sums.shard) return fresh(`it is shard ${sums.shard.index}/${sums.shard.count} of a run, not a result`);
  if (!sums.keyNames || sums.keyNames.length !== sums.fingerprint.keys) return fresh('its partial sums are of an earlier format');
  const n = sums.state.nodes;
  if (n.length > 1 || (n.length === 1 && (n[0]!.first !== 0 || n[0]!.end !== sums.fingerprint.leaves)) || sums.state.rows.size > 0) return fresh('its partial sums are not of a finished run');
  const shape = readLayersShape(join(dir, 'layers.bin'));
  if (!shape || shape.keys !== sums.fingerprint.keys || shape.pairs !== sums.fingerprint.pairs) return fresh('its layers.bin is missing or not the one its partial sums describe');
  return { dir, sums: sums as Previous['sums'] };
}

/**
 * The newest result folder directly in `root` whose run compared exactly these inputs (in any order), for a run that
 * writes a new folder each time (the extension) to reuse; null when there is none.
 */
export function latestResultOf(root: string, inputs: string[]): string | null {
  const want = JSON.stringify([...inputs].sort());
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return null;
  }
  let best: { dir: string; at: number } | null = null;
  for (const name of names) {
    const dir = join(root, name);
    const got = readSumsInputs(join(dir, SUMS_FILE));
    if (!got || JSON.stringify([...got].sort()) !== want || !existsSync(join(dir, RESULT_FILE))) continue;
    const at = statSync(join(dir, RESULT_FILE)).mtimeMs;
    if (!best || at > best.at) best = { dir, at };
  }
  return best?.dir ?? null;
}

/** What this run reuses of a Previous: the model map, what to compute, and the numbers for the user. */
export interface Reuse {
  previous: Previous;
  /** this run's model -> the earlier run's index, or -1 (new or changed) */
  oldOf: Int32Array;
  masks: ReuseMasks;
  stats: IncrementalStats;
  /** for the fingerprint of this run's checkpoints (checkpoint.ts SumsFingerprint.basis) */
  basis: string;
}

/**
 * Matches this run's models with the earlier result's; null (with a notice) when it cannot be reused: other options,
 * another modeldiff version, nothing kept, or new models that would change how kept pairs are computed.
 */
export function planReuse(previous: Previous, now: SumsFingerprint, plan: Plan, notice: (m: string) => void): Reuse | null {
  const old = previous.sums;
  const fresh = (why: string) => {
    notice(`the result in ${previous.dir} is not reused (${why}): computing every pair`);
    return null;
  };
  if (old.fingerprint.tool !== now.tool) return fresh(`it was written by modeldiff ${old.fingerprint.tool}`);
  if (JSON.stringify(old.fingerprint.options) !== JSON.stringify(now.options)) return fresh(`other options: ${describeOptions(old.fingerprint.options)} then, ${describeOptions(now.options)} now`);
  const byPath = new Map(old.fingerprint.models.map((m, i) => [m.path, i]));
  const n = now.models.length;
  const oldOf = new Int32Array(n).fill(-1);
  let added = 0;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const m = now.models[i]!;
    const o = byPath.get(m.path);
    if (o === undefined) {
      added++;
      continue;
    }
    const was = old.fingerprint.models[o]!;
    const h = old.state.health[o];
    if (JSON.stringify(was.files) === JSON.stringify(m.files) && was.header === m.header && h && !healthCut(h)) oldOf[i] = o;
    else changed++;
  }
  let kept = 0;
  for (const o of oldOf) if (o >= 0) kept++;
  const removed = old.fingerprint.models.length - (kept + changed);
  if (kept < 2) return fresh(kept === 0 ? 'no model in it is here unchanged' : 'only one model in it is here unchanged');
  const wanted = Uint8Array.from(oldOf, (o) => (o < 0 ? 1 : 0));
  const computed = new Uint8Array(plan.units.length);
  const oldKeyOf = new Map(old.keyNames.map((k, i) => [k, i]));
  const oldN = old.fingerprint.models.length;
  for (const u of plan.units) {
    const models = [...u.members.models];
    if (models.some((model) => wanted[model])) computed[u.id] = 1;
    // A pair's bits depend on its two models alone only on one route (engine/members.ts itemRoute), which all the
    // members of a unit share: models added or removed must leave every kept pair on the route it was computed on.
    const route = ROUTE_CODES[itemRoute(u.members.refs())];
    const ok = oldKeyOf.get(plan.keys[u.key]!);
    const keptHere = models.filter((model) => !wanted[model]);
    if (keptHere.length >= 2 && (ok === undefined || keptHere.some((model) => old.state.routes[ok * oldN + oldOf[model]!] !== route))) {
      return fresh(`the models added or removed change how ${plan.keys[u.key]} is compared between the others`);
    }
  }
  const pairsKept = (kept * (kept - 1)) / 2;
  const pairs = (n * (n - 1)) / 2;
  const stats: IncrementalStats = { previous: previous.dir, kept, new: added, changed, removed, pairsComputed: pairs - pairsKept, pairsKept };
  const basis = createHash('sha256')
    .update(JSON.stringify([old.fingerprint, Array.from(oldOf)]))
    .digest('hex')
    .slice(0, 32);
  return { previous, oldOf, masks: { wanted, computed }, stats, basis };
}

/** A model's health lists were cut at MAX_HEALTH_KEYS: the kept ones may not be the first in this run's fold order. */
function healthCut(h: HealthSums): boolean {
  return h.nonFiniteCount > h.nonFinite.length || h.allZeroCount > h.allZero.length;
}

/** "3 new, 1 changed, 2 removed: computing 4 x 236 pairs; 27,495 pairs kept". */
export function reuseText(s: IncrementalStats): string {
  const found = [s.new && `${s.new} new`, s.changed && `${s.changed} changed`, s.removed && `${s.removed} removed`].filter(Boolean).join(', ') || 'no model added, changed or removed';
  const wanted = s.new + s.changed;
  const pairs = (n: number) => `${formatInt(n)} pair${n === 1 ? '' : 's'}`;
  const work = wanted ? `computing ${pairs(s.pairsComputed)} (${wanted} x ${s.kept + wanted})` : 'nothing to read';
  return `reusing ${s.previous}: ${found}: ${work}; ${pairs(s.pairsKept)} kept`;
}

/** This run's pair -> the earlier run's pair (-1: computed now), and whether the two models are the other way round. */
interface PairMap {
  old: Int32Array;
  swapped: Uint8Array;
}

function pairMap(oldOf: Int32Array, oldModels: number): PairMap {
  const n = oldOf.length;
  const P = (n * (n - 1)) / 2;
  const old = new Int32Array(P).fill(-1);
  const swapped = new Uint8Array(P);
  let p = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++, p++) {
      const oa = oldOf[a]!;
      const ob = oldOf[b]!;
      if (oa < 0 || ob < 0) continue;
      old[p] = pairIndex(oa, ob, oldModels);
      swapped[p] = oa > ob ? 1 : 0;
    }
  }
  return { old, swapped };
}

/** The kept state, in this run's numbering, for ResultBuilder.seedKept and addKeptSums. */
export function keptState(r: Reuse, plan: Plan, layout: FoldLayout): { kept: KeptState; sums: SumNode; rows: KeptRows } {
  const old = r.previous.sums;
  const n = r.oldOf.length;
  const oldN = old.fingerprint.models.length;
  const map = pairMap(r.oldOf, oldN);
  const P = map.old.length;
  const wantedComponents = new Set(plan.components);

  const sums: SumNode = new Map();
  const root = old.state.nodes[0]?.sums ?? new Map<string, never>();
  for (const [c, f] of root) {
    if (!wantedComponents.has(c)) continue;
    const s = newFloatSums(P);
    for (let p = 0; p < P; p++) {
      const o = map.old[p]!;
      if (o < 0) continue;
      s.d2[p] = f.d2[o]!;
      s.dot[p] = f.dot[o]!;
      s.na[p] = map.swapped[p] ? f.nb[o]! : f.na[o]!;
      s.nb[p] = map.swapped[p] ? f.na[o]! : f.nb[o]!;
    }
    sums.set(c, s);
  }
  const counts = new Map<string, CountSums>();
  for (const [c, cs] of old.state.counts) {
    if (!wantedComponents.has(c)) continue;
    const k = newCountSums(P);
    for (let p = 0; p < P; p++) {
      const o = map.old[p]!;
      if (o >= 0) for (const f of COUNT_FIELDS) k[f][p] = cs[f][o]!;
    }
    counts.set(c, k);
  }

  // keys by name; each (key, model) to its unit in this plan
  const keyOf = new Map(plan.keys.map((k, i) => [k, i]));
  const newKeyOfOld = old.keyNames.map((k) => keyOf.get(k) ?? -1);
  const oldKeyOfNew = new Int32Array(plan.keys.length).fill(-1);
  newKeyOfOld.forEach((k, o) => k >= 0 && (oldKeyOfNew[k] = o));
  const unitOf = new Int32Array(plan.keys.length * n).fill(-1);
  for (const u of plan.units) for (const model of u.members.models) unitOf[u.key * n + model] = u.id;

  const health: (HealthSums | null)[] = Array.from(r.oldOf, (o, i) => {
    if (o < 0) return null;
    const h = old.state.health[o]!;
    const remap = (list: [number, number][]): [number, number][] =>
      list
        .map(([, key]): [number, number] => {
          const k = newKeyOfOld[key]!;
          return [layout.position[unitOf[k * n + i]!]!, k];
        })
        .sort((x, y) => x[0] - y[0]);
    return { ...h, nonFinite: remap(h.nonFinite), allZero: remap(h.allZero) };
  });

  // identity classes: a class kept is named by the smallest index, in this run, of its kept members; routes as they were
  const classes = new Int32Array(plan.keys.length * n).fill(-1);
  const routes = new Uint8Array(plan.keys.length * n);
  for (const u of plan.units) {
    const ok = oldKeyOfNew[u.key]!;
    if (ok < 0) continue;
    const smallest = new Map<number, number>();
    for (const model of u.members.models) {
      const o = r.oldOf[model]!;
      if (o < 0) continue;
      const label = old.state.classes[ok * oldN + o]!;
      // an unknown class (-1) stays the member's own
      const name = label < 0 ? -1 - model : label;
      if (!smallest.has(name)) smallest.set(name, model);
      classes[u.key * n + model] = smallest.get(name)!;
      routes[u.key * n + model] = old.state.routes[ok * oldN + o]!;
    }
  }
  return { kept: { counts, health, classes, routes }, sums, rows: new KeptRows(join(r.previous.dir, 'layers.bin'), old.fingerprint.keys, old.fingerprint.pairs, oldKeyOfNew, map) };
}

/**
 * The per-layer rows of this run with the kept pairs' values from the earlier layers.bin: rows the run folds get them
 * as they are written (`sink`), rows of keys no computed unit has are written whole (`writeKept`).
 */
export class KeptRows {
  private fd: number | null = null;

  constructor(
    private readonly path: string,
    private readonly oldKeys: number,
    private readonly oldPairs: number,
    private readonly oldKeyOf: Int32Array,
    private readonly map: PairMap,
  ) {}

  /** Fills the kept pairs of `values` (this run's row of `key` in `plane`) from the earlier file. */
  fill(plane: number, key: number, values: Float32Array): Float32Array {
    const ok = this.oldKeyOf[key]!;
    const P = this.map.old.length;
    const old = ok >= 0 ? readLayerRow(this.open(), this.oldKeys, this.oldPairs, plane, ok) : null;
    for (let p = 0; p < P; p++) {
      const o = this.map.old[p]!;
      if (o >= 0) values[p] = old ? old[o]! : NaN;
    }
    return values;
  }

  /** A sink that fills the kept pairs of every row before it goes on to `to`. */
  sink(to: RowSink): RowSink {
    return { writeRow: (plane, key, values) => to.writeRow(plane, key, this.fill(plane, key, values)) };
  }

  /** Writes the rows of the keys with no computed unit (`computedKeys[key]` 0), kept values and NaN elsewhere. */
  writeKept(to: RowSink, computedKeys: Uint8Array, planes: number): void {
    for (let k = 0; k < computedKeys.length; k++) {
      if (computedKeys[k]) continue;
      for (let plane = 0; plane < planes; plane++) to.writeRow(plane, k, this.fill(plane, k, new Float32Array(this.map.old.length).fill(NaN)));
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): number {
    return (this.fd ??= openSync(this.path, 'r'));
  }
}
