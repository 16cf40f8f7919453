/**
 * `compare` on inputs that include LoRAs (issue 13). A LoRA is compared by the change it makes to the weights (its
 * effective delta dW, from src/compute/lora), never by its raw factors: two files with the same delta are at
 * distance 0 to float rounding ("same delta") whatever their bytes, format or factorisation. With a base checkpoint
 * (`base`), checkpoints among the inputs join as their difference from the base, D = checkpoint - base: a LoRA
 * against a checkpoint is ||dW - D||, two checkpoints ||D1 - D2|| (= their own distance).
 *
 * The outputs are those of a checkpoint comparison (result.json, model_map_v2.json, layers.bin with one row per
 * weight), so every view reads them unchanged. All arithmetic is float64 (see src/compute/lora/inner.ts).
 *
 * Per component and pair: `shared` counts the weights both change, `only_a` / `only_b` the weights only one changes
 * (the other's change there is zero, and counts in the distance), `mismatched` the weights they change as tensors of
 * different shapes (LoRAs for different families: not comparable), `changed` the weights both change, differently.
 */
import { basename, join } from 'node:path';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../shared/errors';
import { MAX_LISTED_DIFFERENCES, MAX_LORA_TARGETS_LISTED, pairIndex, RESULT_SCHEMA_VERSION, type CompareResult, type ComponentDiff, type ComponentStats, type FileError, type LoraInfo, type ModelInfo, type PairResult } from '../../shared/result';
import { sortComponents } from '../keys/components';
import { differenceRows, innerWithRows, type DenseRows } from '../lora/dense';
import { loraArch } from '../lora/family';
import { FileHandles, readableAsF64 } from '../lora/io';
import { baseKeySpace, type KeySpace } from '../lora/keySpace';
import { DEFAULT_FACTOR_BUDGET_MIB, forEachKeyPairs, type KeyPairs } from '../lora/pairwise';
import { readLora } from '../lora/parse';
import { FAMILY_LABEL } from '../lora/targets';
import type { LoraModel } from '../lora/types';
import { looksLikeLora } from '../lora/index';
import type { Checkpoint, TensorRef } from '../model/checkpoint';
import { boundedMetadata } from '../model/limits';
import { loadModel } from '../model/loadModel';
import { LayersWriter } from '../output/layersFile';
import { writeModelMap, writeResultJson } from '../output/resultFiles';
import { TOOL_VERSION } from '../output/toolVersion';
import { openCheckpoint } from '../readers/registry';
import { changedSinceRead, identitiesOf } from '../io/regularFile';
import type { CompareOptions, Progress } from './compare';
import { startHashPass } from './hashPass';

/** An input file, opened (header only), with what it is. */
export interface OpenedInput {
  path: string;
  checkpoint: Checkpoint;
  lora: boolean;
}

/**
 * Opens every input's header and says which are LoRAs. Files that cannot be opened are left to the caller's usual
 * path (returned in `failed`, not as errors here), so a run without LoRAs is exactly the checkpoint comparison.
 */
export async function openInputs(paths: string[], opts: Pick<CompareOptions, 'signal' | 'extractWeights'>): Promise<{ opened: OpenedInput[]; failed: { path: string; error: ModeldiffError }[] }> {
  const opened: OpenedInput[] = [];
  const failed: { path: string; error: ModeldiffError }[] = [];
  for (const path of paths) {
    throwIfAborted(opts.signal);
    try {
      const checkpoint = await openCheckpoint(path, opts.signal, { extractWeights: opts.extractWeights });
      opened.push({ path, checkpoint, lora: looksLikeLora(checkpoint) });
    } catch (e) {
      const error = toModeldiffError(e, path);
      if (error.code === 'CANCELLED') throw error;
      failed.push({ path, error });
    }
  }
  return { opened, failed };
}

/** A compare run whose inputs include LoRAs, from their paths: opens them, then compareWithLoras. */
export async function runLoraCompare(paths: string[], opts: CompareOptions, outDir: string, ctx: Ctx): Promise<CompareResult> {
  const { opened, failed } = await openInputs(paths, opts);
  return compareWithLoras(opened, failed, opts, outDir, ctx);
}

interface Ctx {
  report: (p: Omit<Progress, 'elapsedSeconds'>) => void;
  elapsed: () => number;
}

/** One model of the run: a LoRA (index into `loras`) or a checkpoint difference (index into `ckpts`). */
type Member = { kind: 'lora'; i: number } | { kind: 'ckpt'; i: number };

interface CkptSide {
  path: string;
  info: ModelInfo;
  /** canonical key -> tensor, for the keys compared (same shape as the base's, readable as numbers) */
  tensors: Map<string, TensorRef>;
}

/** Per component, per pair: sums over the weights seen. */
interface Sums {
  d2: Float64Array;
  dot: Float64Array;
  na: Float64Array;
  nb: Float64Array;
  shared: Int32Array;
  onlyA: Int32Array;
  onlyB: Int32Array;
  mismatched: Int32Array;
  /** weights both change, differently */
  changed: Int32Array;
  /** weights on which the two changes differ (changed, plus weights only one changes) */
  differ: Int32Array;
}

/**
 * Compares the inputs when at least one is a LoRA. Without `base`, every input must be a LoRA (each mapped onto its
 * family's standard keys); with it, LoRAs are mapped onto the base's keys and checkpoints measured from it.
 */
export async function compareWithLoras(inputs: OpenedInput[], failed: { path: string; error: ModeldiffError }[], opts: CompareOptions, outDir: string, ctx: Ctx): Promise<CompareResult> {
  const { report, elapsed } = ctx;
  const errors: FileError[] = failed.map(({ path, error }) => fileError(error, path));
  const components = opts.components ?? null;
  const includeEma = opts.includeEma ?? true;
  const keepComponent = (c: string) => (components === null || components.includes(c)) && (includeEma || c !== 'ema');

  let space: KeySpace | undefined;
  let baseComponents = new Map<string, string>();
  let baseCkpt: Checkpoint | undefined;
  if (opts.base) {
    baseCkpt = await openCheckpoint(opts.base, opts.signal, { extractWeights: opts.extractWeights });
    if (looksLikeLora(baseCkpt)) throw new ModeldiffError('USAGE', `--base must be a checkpoint, and ${basename(opts.base)} is a LoRA`, { file: opts.base });
    space = baseKeySpace(baseCkpt);
    baseComponents = new Map([...loadModel(baseCkpt, 0).tensors].map(([k, v]) => [k, v.component]));
  } else {
    const ckpts = inputs.filter((x) => !x.lora);
    if (ckpts.length) {
      throw new ModeldiffError(
        'USAGE',
        `the inputs mix LoRAs and checkpoints (${ckpts.length} checkpoint${ckpts.length > 1 ? 's' : ''}, first ${basename(ckpts[0]!.path)}): name the checkpoint the LoRAs were trained on with --base <checkpoint>, so LoRAs and checkpoints are measured as changes from it`,
      );
    }
  }

  // 1. read every LoRA (a bad file is an error of its own, the run goes on) and every checkpoint's keys
  report({ phase: 'reading headers', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: `${inputs.length} models` });
  const loras: LoraModel[] = [];
  const ckpts: CkptSide[] = [];
  const order: Member[] = [];
  const infos: ModelInfo[] = [];
  for (const input of inputs) {
    throwIfAborted(opts.signal);
    try {
      if (input.lora) {
        const model = readLora(input.checkpoint, { space });
        const targets = model.targets.filter((t) => keepComponent(t.component));
        loras.push({ ...model, targets });
        order.push({ kind: 'lora', i: loras.length - 1 });
        infos.push(loraInfo(input.checkpoint, { ...model, targets }, space, infos.length));
      } else {
        const side = checkpointSide(input.checkpoint, space!, baseComponents, keepComponent, infos.length);
        ckpts.push(side);
        order.push({ kind: 'ckpt', i: ckpts.length - 1 });
        infos.push(side.info);
      }
    } catch (e) {
      const err = toModeldiffError(e, input.path);
      if (err.code === 'CANCELLED') throw err;
      errors.push(fileError(err, input.path));
    }
  }
  const n = order.length;
  const P = (n * (n - 1)) / 2;
  const loraGlobal = new Int32Array(loras.length);
  const ckptGlobal = new Int32Array(ckpts.length);
  order.forEach((m, g) => (m.kind === 'lora' ? (loraGlobal[m.i] = g) : (ckptGlobal[m.i] = g)));

  // 2. the weights compared: every LoRA target, and every key of the base a checkpoint has
  const componentOf = new Map<string, string>();
  for (const m of loras) for (const t of m.targets) componentOf.set(t.key, t.component);
  for (const c of ckpts) for (const k of c.tensors.keys()) if (!componentOf.has(k)) componentOf.set(k, baseComponents.get(k) ?? 'other');
  const keys = [...componentOf.keys()].sort();
  const keyIndex = new Map(keys.map((k, i) => [k, i]));
  const keyComponents = keys.map((k) => componentOf.get(k)!);
  const resultComponents = sortComponents([...new Set(keyComponents)]);
  const sums = new Map<string, Sums>();
  for (const c of resultComponents) sums.set(c, newSums(P));
  const loraKeys = loras.map((m) => new Set(m.targets.map((t) => t.key)));
  const lists = Array.from({ length: P }, () => ({ only_a: [] as string[], only_b: [] as string[], mismatched: [] as { key: string; a?: string; b?: string }[], truncated: false }));

  const layers = new LayersWriter(join(outDir, 'layers.bin'), keys.length, P, 2);
  const bytesTotal = inputs.reduce((s, x) => s + x.checkpoint.sizeBytes, 0);
  const startedAt = elapsed();
  const progress = (keysDone: number) => {
    const done = keys.length ? (bytesTotal * keysDone) / keys.length : bytesTotal;
    const spent = elapsed() - startedAt;
    report({ phase: 'comparing', bytesDone: done, bytesTotal, etaSeconds: keysDone > 0 ? (spent / keysDone) * (keys.length - keysDone) : null });
  };
  report({ phase: 'comparing', bytesDone: 0, bytesTotal, etaSeconds: null, message: `${loras.length} LoRAs${ckpts.length ? `, ${ckpts.length} checkpoints` : ''}, ${P} pairs, ${keys.length} weights` });

  let keysDone = 0;
  let guard = 0;
  let deltas = 0;
  const bytesUsed = new Set<TensorRef>();
  const dropped = new Set<number>();
  // every file is read as the version its header was read from, as in a checkpoint run (io/fileHandles.ts)
  const identities = identitiesOf([...inputs.flatMap((x) => x.checkpoint.files), ...(baseCkpt?.files ?? [])]);
  const files = new FileHandles(identities);
  /** The input one of whose files a per-file fault names (undefined: the base, or not a file's fault). */
  const inputOf = (err: ModeldiffError) =>
    !err.file || baseCkpt?.files.some((f) => f.path === err.file) ? undefined : inputs.find((x) => x.path === err.file || x.checkpoint.files.some((f) => f.path === err.file));
  try {
    // The row of one key, filled by its KeyPairs (one per shape the LoRAs change it as) and by the checkpoints.
    let row: { key: string; k: number; l2: Float32Array; cos: Float32Array; ckptDone: boolean } | null = null;
    const flush = () => {
      if (!row) return;
      if (!row.ckptDone) checkpointsOnKey(row.key, row.k, undefined);
      layers.writeRow(0, row.k, row.l2);
      layers.writeRow(1, row.k, row.cos);
      row = null;
      progress(++keysDone);
    };
    const startRow = (key: string) => {
      const k = keyIndex.get(key)!;
      // two LoRAs that both leave a weight alone make the same (zero) change there; pairs with a checkpoint are
      // filled when the checkpoint has the key
      const l2 = new Float32Array(P).fill(NaN);
      for (let a = 0; a < loras.length; a++) for (let b = a + 1; b < loras.length; b++) l2[pairIndex(loraGlobal[a]!, loraGlobal[b]!, n)] = 0;
      row = { key, k, l2, cos: new Float32Array(P).fill(NaN), ckptDone: false };
    };
    const add = (component: string, ga: number, gb: number, v: { d2: number; dot: number; na: number; nb: number; same: boolean; only?: 'a' | 'b' }, key: string) => {
      const [a, b, na, nb, only] = ga < gb ? [ga, gb, v.na, v.nb, v.only] : [gb, ga, v.nb, v.na, v.only === 'a' ? 'b' : v.only === 'b' ? 'a' : undefined];
      const p = pairIndex(a, b, n);
      const s = sums.get(component)!;
      s.d2[p] += v.d2;
      s.dot[p] += v.dot;
      s.na[p] += na;
      s.nb[p] += nb;
      if (only === 'a') {
        s.onlyA[p]!++;
        push(lists[p]!, 'only_a', key);
      } else if (only === 'b') {
        s.onlyB[p]!++;
        push(lists[p]!, 'only_b', key);
      } else s.shared[p]!++;
      if (!v.same) {
        s.differ[p]!++;
        if (!only) s.changed[p]!++;
      }
      row!.l2[p] = Math.sqrt(Math.max(0, v.d2));
      row!.cos[p] = na > 0 && nb > 0 ? v.dot / Math.sqrt(na * nb) : NaN;
    };
    const mismatch = (component: string, ga: number, gb: number, key: string, shapeA: string, shapeB: string) => {
      const [a, b, sa, sb] = ga < gb ? [ga, gb, shapeA, shapeB] : [gb, ga, shapeB, shapeA];
      const p = pairIndex(a, b, n);
      sums.get(component)!.mismatched[p]!++;
      const l = lists[p]!;
      if (l.mismatched.length < MAX_LISTED_DIFFERENCES) l.mismatched.push({ key, a: sa, b: sb });
      else l.truncated = true;
      row!.l2[p] = NaN;
    };

    // Checkpoint pairs on one key (D_c = C_c - B): against each other, and against LoRAs that leave the key alone.
    // `norms` are ||D_c||^2 when the LoRA pass already has them.
    const checkpointsOnKey = (key: string, _k: number, norms: (number | undefined)[] | undefined) => {
      if (!ckpts.length) return;
      const component = componentOf.get(key)!;
      const has = ckpts.map((c) => c.tensors.get(key));
      const baseRef = space!.base!.tensors.get(key)!;
      const norm2 = has.map((ref, c) => {
        if (!ref) return undefined;
        if (norms?.[c] !== undefined) return norms[c];
        bytesUsed.add(ref).add(baseRef);
        return innerWithRows([], differenceRows(key, ref, baseRef, files)).norm2;
      });
      for (let x = 0; x < ckpts.length; x++) {
        const rx = has[x];
        if (!rx) continue;
        for (let y = x + 1; y < ckpts.length; y++) {
          const ry = has[y];
          if (!ry) continue;
          // ||D_x - D_y|| = ||C_x - C_y||: read directly, so equal weights give exactly 0
          const d2 = innerWithRows([], differenceRows(key, rx, ry, files)).norm2;
          const nx = norm2[x]!;
          const ny = norm2[y]!;
          add(component, ckptGlobal[x]!, ckptGlobal[y]!, { d2, dot: (nx + ny - d2) / 2, na: nx, nb: ny, same: d2 === 0 }, key);
        }
        // LoRAs that do not change this key: their change is zero, the distance is ||D||
        for (let l = 0; l < loras.length; l++) {
          if (loraKeys[l]!.has(key) || dropped.has(l)) continue;
          add(component, loraGlobal[l]!, ckptGlobal[x]!, { d2: norm2[x]!, dot: 0, na: 0, nb: norm2[x]!, same: norm2[x] === 0, only: norm2[x]! > 0 ? 'b' : undefined }, key);
        }
      }
    };

    const onKey = (kp: KeyPairs) => {
      const r0 = row as { key: string } | null;
      if (r0 && r0.key !== kp.key) flush();
      if (!row) startRow(kp.key);
      const component = kp.component;
      const m = kp.members.length;
      deltas += m;
      guard += kp.direct + (kp.againstEach?.reduce((s, a) => s + (a?.direct ?? 0), 0) ?? 0);
      const memberSet = new Set(kp.members);
      const elsewhere = new Set(kp.incomparable);
      const shapeOf = (l: number) => loras[l]!.targets.find((t) => t.key === kp.key)!.shape.join('x');
      for (let x = 0; x < m; x++) {
        const i = kp.members[x]!;
        for (let y = x + 1; y < m; y++) {
          const j = kp.members[y]!;
          add(component, loraGlobal[i]!, loraGlobal[j]!, { d2: kp.d2[x * m + y]!, dot: kp.dot[x * m + y]!, na: kp.norm2[x]!, nb: kp.norm2[y]!, same: kp.same[x * m + y] === 1 }, kp.key);
        }
        for (let j = 0; j < loras.length; j++) {
          if (memberSet.has(j) || dropped.has(j)) continue;
          if (elsewhere.has(j)) {
            if (i < j) mismatch(component, loraGlobal[i]!, loraGlobal[j]!, kp.key, shapeOf(i), shapeOf(j));
            continue;
          }
          const n2 = kp.norm2[x]!;
          add(component, loraGlobal[i]!, loraGlobal[j]!, { d2: n2, dot: 0, na: n2, nb: 0, same: n2 === 0, only: n2 > 0 ? 'a' : undefined }, kp.key);
        }
      }
      if (ckpts.length && !row!.ckptDone) {
        ckpts.forEach((_, ci) => {
          const a = kp.againstEach?.[ci];
          for (let x = 0; x < m; x++) {
            const gl = loraGlobal[kp.members[x]!]!;
            if (!a) {
              // the checkpoint lacks this weight: its change there is unknown, so the weight is left out of the distance
              const [lo, hi] = gl < ckptGlobal[ci]! ? [gl, ckptGlobal[ci]!] : [ckptGlobal[ci]!, gl];
              const p = pairIndex(lo, hi, n);
              const s = sums.get(component)!;
              if (gl === lo) s.onlyA[p]!++;
              else s.onlyB[p]!++;
              s.differ[p]!++;
              push(lists[p]!, gl === lo ? 'only_a' : 'only_b', kp.key);
              continue;
            }
            add(component, gl, ckptGlobal[ci]!, { d2: a.d2[x]!, dot: a.dot[x]!, na: kp.norm2[x]!, nb: a.norm2, same: false }, kp.key);
          }
        });
        checkpointsOnKey(kp.key, row!.k, ckpts.map((_, ci) => kp.againstEach?.[ci]?.norm2));
        row!.ckptDone = true;
      }
    };

    forEachKeyPairs(loras, onKey, {
      budgetBytes: (opts.memoryBudgetMiB ?? DEFAULT_FACTOR_BUDGET_MIB) * 2 ** 20,
      signal: opts.signal,
      identities,
      againstEach: ckpts.length
        ? (key, fh) => {
            const b = space!.base!.tensors.get(key);
            return ckpts.map((c): DenseRows | undefined => {
              const ref = c.tensors.get(key);
              if (!ref || !b) return undefined;
              bytesUsed.add(ref).add(b);
              return differenceRows(key, ref, b, fh);
            });
          }
        : undefined,
      onModelError: (l, err) => {
        // a LoRA whose factors turn out unreadable mid-run: its results so far are void, so the run is redone without it
        dropped.add(l);
        throw new DropLora(l, err);
      },
    });
    flush();
    // keys no LoRA changes: checkpoints only
    for (const key of keys) {
      if (loras.some((_, l) => loraKeys[l]!.has(key))) continue;
      throwIfAborted(opts.signal);
      startRow(key);
      flush();
    }
    files.verify();
    layers.close();
  } catch (e) {
    layers.abandon();
    if (e instanceof DropLora) {
      const path = inputs.find((x) => x.checkpoint.path === loras[e.lora]!.file)!.path;
      return compareWithLoras(inputs.filter((x) => x.path !== path), [...failed, { path, error: e.error }], opts, outDir, ctx);
    }
    // a checkpoint changed while it was read: the run is made again without it (the base: the run fails, naming it)
    const err = toModeldiffError(e);
    const input = err.code === 'FILE_CHANGED' ? inputOf(err) : undefined;
    if (input) return compareWithLoras(inputs.filter((x) => x !== input), [...failed, { path: input.path, error: err }], opts, outDir, ctx);
    throw e;
  } finally {
    files.closeAll();
  }
  for (const m of loras) for (const t of m.targets) for (const c of t.contributions) for (const f of Object.values(m.modules[c.module]!.factors)) if (f) bytesUsed.add(f);

  if (opts.hashes) {
    // file hashes (AutoV2... as model sites list LoRAs); component hashes mean nothing for factor tensors
    report({ phase: 'hashing', bytesDone: bytesTotal, bytesTotal, etaSeconds: null, message: `hashing ${infos.length} files` });
    const hashing = startHashPass(infos.map((m) => m.path), { inThread: opts.workers === 0, extractWeights: !!opts.extractWeights, ...opts.hashes, components: false }, opts.signal);
    const list = await hashing.done;
    infos.forEach((m, i) => {
      if (list[i]) m.hashes = list[i];
    });
  }
  // Checked again before the results are kept: a file rewritten after its last read is not the file compared.
  if (baseCkpt) {
    const err = await changedSinceRead(baseCkpt.files);
    if (err) throw err;
  }
  const changed: { path: string; error: ModeldiffError }[] = [];
  for (const x of inputs) {
    const err = await changedSinceRead(x.checkpoint.files);
    if (err) changed.push({ path: x.path, error: err });
  }
  if (changed.length) {
    return compareWithLoras(inputs.filter((x) => !changed.some((c) => c.path === x.path)), [...failed, ...changed], opts, outDir, ctx);
  }
  report({ phase: 'writing', bytesDone: bytesTotal, bytesTotal, etaSeconds: 0 });
  const isLora = order.map((m) => m.kind === 'lora');
  const pairs: PairResult[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const p = pairIndex(a, b, n);
      const comps: Record<string, ComponentDiff> = {};
      for (const c of resultComponents) {
        const d = componentDiff(sums.get(c)!, p, isLora[a]! && isLora[b]!);
        if (d) comps[c] = d;
      }
      const l = lists[p]!;
      pairs.push({ a, b, components: comps, differences: { only_a: l.only_a, only_b: l.only_b, mismatched: l.mismatched, dtype: [], truncated: l.truncated } });
    }
  }
  let bytesRead = 0;
  for (const r of bytesUsed) bytesRead += r.byteLength;
  const result: CompareResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'modeldiff', version: TOOL_VERSION },
    createdAt: new Date().toISOString(),
    options: { metric: 'l2', components, includeEma, workers: 0, memoryBudgetMiB: opts.memoryBudgetMiB ?? DEFAULT_FACTOR_BUDGET_MIB, ...(opts.extractWeights ? { extractWeights: true } : {}), ...(opts.base ? { base: opts.base } : {}) },
    models: infos,
    errors,
    components: resultComponents,
    pairs,
    layers: { file: 'layers.bin', keys, keyComponents, pairs: P, planes: ['l2', 'cosine'] },
    stats: { seconds: elapsed(), bytesRead, bytesTotal, tensorsCompared: deltas, identicalGroups: 0, guardRecomputes: guard, kernels: 'float64 (LoRA deltas, low-rank)' },
  };
  writeResultJson(outDir, result);
  writeModelMap(outDir, result);
  return result;
}

class DropLora extends Error {
  constructor(
    readonly lora: number,
    readonly error: ModeldiffError,
  ) {
    super(error.message);
  }
}

function push(l: { only_a: string[]; only_b: string[]; truncated: boolean }, which: 'only_a' | 'only_b', key: string): void {
  if (l[which].length < MAX_LISTED_DIFFERENCES) l[which].push(key);
  else l.truncated = true;
}

function newSums(P: number): Sums {
  return {
    d2: new Float64Array(P),
    dot: new Float64Array(P),
    na: new Float64Array(P),
    nb: new Float64Array(P),
    shared: new Int32Array(P),
    onlyA: new Int32Array(P),
    onlyB: new Int32Array(P),
    mismatched: new Int32Array(P),
    changed: new Int32Array(P),
    differ: new Int32Array(P),
  };
}

/** A pair's component, or undefined when neither model changes a weight of it. */
function componentDiff(s: Sums, p: number, bothLoras: boolean): ComponentDiff | undefined {
  const shared = s.shared[p]!;
  const onlyA = s.onlyA[p]!;
  const onlyB = s.onlyB[p]!;
  const mismatched = s.mismatched[p]!;
  const changed = s.changed[p]!;
  if (shared + onlyA + onlyB + mismatched === 0) return undefined;
  const comparable = mismatched === 0;
  const l2 = comparable ? Math.sqrt(Math.max(0, s.d2[p]!)) : null;
  const na = s.na[p]!;
  const nb = s.nb[p]!;
  const cosine = comparable && na > 0 && nb > 0 ? s.dot[p]! / Math.sqrt(na * nb) : null;
  // LoRAs: "same delta" to float rounding; checkpoint differences: equal values only when exactly equal
  const status = !comparable ? 'not_comparable' : s.differ[p]! > 0 ? 'changed' : bothLoras ? 'same_delta' : 'equal_values';
  return { status, l2, cosine, identical: false, equal_values: status === 'equal_values', shared, only_a: onlyA, only_b: onlyB, mismatched, dtype_diff: 0, changed, non_finite: 0, bytes_only: 0 };
}

/** A LoRA as a model of the result: its components are the components of the weights it changes. */
export function loraInfo(ckpt: Checkpoint, model: LoraModel, space: KeySpace | undefined, index: number): ModelInfo {
  const byComponent = new Map<string, { targets: number; params: number; modules: Set<number> }>();
  for (const t of model.targets) {
    let c = byComponent.get(t.component);
    if (!c) byComponent.set(t.component, (c = { targets: 0, params: 0, modules: new Set() }));
    c.targets++;
    c.params += t.shape.reduce((a, b) => a * b, 1);
    for (const x of t.contributions) c.modules.add(x.module);
  }
  const components: Record<string, ComponentStats> = {};
  const targetsByComponent: Record<string, number> = {};
  const targetKeys: Record<string, string[]> = {};
  for (const name of sortComponents([...byComponent.keys()])) {
    const c = byComponent.get(name)!;
    const stats: ComponentStats = { tensors: c.targets, params: c.params, bytes: 0, dtypes: {} };
    for (const mi of c.modules) {
      for (const f of Object.values(model.modules[mi]!.factors)) {
        if (!f) continue;
        stats.bytes += f.byteLength;
        stats.dtypes[f.dtype] = (stats.dtypes[f.dtype] ?? 0) + 1;
      }
    }
    components[name] = stats;
    targetsByComponent[name] = c.targets;
    targetKeys[name] = model.targets.filter((t) => t.component === name).slice(0, MAX_LORA_TARGETS_LISTED).map((t) => t.key);
  }
  const kinds: Record<string, number> = {};
  const ranks = new Set<number>();
  const scales = new Set<number>();
  for (const m of model.modules) {
    kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    if (m.rank !== null) ranks.add(m.rank);
    scales.add(m.scale);
  }
  const rankList = [...ranks].sort((a, b) => a - b);
  const lora: LoraInfo = {
    family: FAMILY_LABEL[model.family],
    familyFrom: model.familyFrom,
    keySpace: space?.description ?? `standard ${FAMILY_LABEL[model.family]} keys (no base model)`,
    naming: model.naming,
    modules: kinds,
    ranks: rankList,
    scales: [...scales].sort((a, b) => a - b),
    dora: model.modules.some((m) => m.doraScale),
    targets: model.targets.length,
    targetsByComponent,
    targetKeys,
  };
  const kindText = Object.entries(kinds).map(([k, c]) => (k === 'lora' ? `${c} LoRA` : `${c} ${k === 'loha' ? 'LoHa' : k === 'lokr' ? 'LoKr' : 'full'}`)).join(', ');
  const rankText = rankList.length === 0 ? '' : rankList.length === 1 ? `, rank ${rankList[0]}` : `, ranks ${rankList[0]}-${rankList[rankList.length - 1]}`;
  const metadata = boundedMetadata(ckpt.metadata);
  const arch = loraArch(model.family, ckpt.metadata, model.targets.map((t) => t.key), space?.base?.arch);
  return {
    index,
    file: basename(ckpt.path),
    path: ckpt.path,
    format: ckpt.format,
    arch: arch.arch,
    archDetail: `${arch.label} LoRA (${model.naming}; ${kindText} module${model.modules.length > 1 ? 's' : ''}${rankText}${lora.dora ? ', DoRA' : ''}) changing ${model.targets.length} weights`,
    sizeBytes: ckpt.sizeBytes,
    tensorCount: ckpt.tensors.length,
    paramCount: ckpt.tensors.reduce((s, t) => s + t.numel, 0),
    components,
    metadata: metadata.metadata,
    notes: [...ckpt.notes, ...(arch.assumed ? [arch.assumed] : []), ...model.notes.map((x) => (x.key ? `${x.key}: ${x.message}` : x.message)), ...(metadata.note ? [metadata.note] : [])],
    tensorHealth: { nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 },
    lora,
  };
}

/** A checkpoint measured from the base: the base's keys it has with the same shape, readable as numbers. */
function checkpointSide(ckpt: Checkpoint, space: KeySpace, baseComponents: Map<string, string>, keep: (c: string) => boolean, index: number): CkptSide {
  const loaded = loadModel(ckpt, index);
  const base = space.base!.tensors;
  const tensors = new Map<string, TensorRef>();
  let missing = 0;
  let reshaped = 0;
  let unreadable = 0;
  for (const [key, b] of base) {
    if (!keep(baseComponents.get(key) ?? 'other')) continue;
    const own = loaded.tensors.get(key)?.ref;
    if (!own) missing++;
    else if (own.shape.join(',') !== b.shape.join(',')) reshaped++;
    else if (!readableAsF64(own) || !readableAsF64(b)) unreadable++;
    else tensors.set(key, own);
  }
  const extra = [...loaded.tensors.keys()].filter((k) => !base.has(k)).length;
  const notes = [...loaded.info.notes];
  if (missing) notes.push(`${missing} weights of the base are missing here and are left out`);
  if (reshaped) notes.push(`${reshaped} weights are shaped differently from the base's and are left out`);
  if (unreadable) notes.push(`${unreadable} weights are stored in a type that cannot be read as numbers here and are left out`);
  if (extra) notes.push(`${extra} keys are not in the base and are left out`);
  if (tensors.size === 0) throw new ModeldiffError('USAGE', `no weight of this checkpoint matches the base ${basename(space.base!.path)} (same key and shape)`, { file: ckpt.path });
  return { path: ckpt.path, info: { ...loaded.info, notes, archDetail: `${loaded.info.archDetail}; measured from the base` }, tensors };
}

function fileError(err: ModeldiffError, path: string): FileError {
  return { ...err.toJSON(), file: basename(path), path };
}
