import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { throwIfAborted, toModeldiffError } from '../../shared/errors';
import { ResultBuilder } from '../engine/resultBuilder';
import { makePlan } from '../engine/plan';
import { runEngine } from '../engine/runEngine';
import { loadModel, type LoadedModel } from '../model/loadModel';
import { LayersWriter } from '../output/layersFile';
import { writeModelMap, writeResultJson } from '../output/resultFiles';
import { openCheckpoint } from '../readers/registry';
import { RESULT_SCHEMA_VERSION, type CompareResult, type FileError, type ModelHashSummary } from '../../shared/result';
import { findModels } from '../readers/findModels';
import { basename } from 'node:path';
import { TOOL_VERSION } from '../output/toolVersion';
import { startHashPass, type HashPass, type HashPassOptions } from './hashPass';

export interface CompareOptions {
  /** where result.json, model_map_v2.json and layers.bin are written */
  outDir: string;
  /** compare only these components (default: all) */
  components?: string[] | null;
  includeEma?: boolean;
  /** worker threads (default: one per core, at most 4); 0 computes in the calling thread */
  workers?: number;
  /** bound on the engine's buffers, all workers together */
  memoryBudgetMiB?: number;
  /** Gram cancellation guard: recompute a pair-chunk directly unless (G_ii + G_jj) <= trustRatio * d2 */
  trustRatio?: number;
  kernels?: 'wasm' | 'reference';
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** also compute every model's file and component hashes while the engine reads (into this cache and result.json) */
  hashes?: HashPassOptions | null;
  /** read PyTorch checkpoints that pickle inert Lightning/numpy/argparse objects, keeping those as data (src/compute/readers/pytorch/extractWeights.ts) */
  extractWeights?: boolean;
}

export interface Progress {
  phase: 'scanning' | 'reading headers' | 'comparing' | 'hashing' | 'writing' | 'done';
  bytesDone: number;
  bytesTotal: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
  message?: string;
}

/** Measured: with the kernels' 16-product float32 chains the Gram difference stays within 1e-7 relative up to this ratio. */
export const DEFAULT_TRUST_RATIO = 3;

/** The whole job: find the models, read their headers, compare every pair, write the outputs. */
export async function compareModels(inputs: string[], opts: CompareOptions): Promise<CompareResult> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const report = (p: Omit<Progress, 'elapsedSeconds'>) => opts.onProgress?.({ ...p, elapsedSeconds: elapsed() });
  const workers = opts.workers ?? Math.min(4, Math.max(1, cpus().length));
  const memoryBudgetMiB = opts.memoryBudgetMiB ?? 256;
  const includeEma = opts.includeEma ?? true;
  const components = opts.components ?? null;

  report({ phase: 'scanning', bytesDone: 0, bytesTotal: 0, etaSeconds: null });
  const paths = await findModels(inputs);
  throwIfAborted(opts.signal);

  report({ phase: 'reading headers', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: `${paths.length} models` });
  const errors: FileError[] = [];
  let models: LoadedModel[] = [];
  for (const path of paths) {
    throwIfAborted(opts.signal);
    try {
      models.push(loadModel(await openCheckpoint(path, opts.signal, { extractWeights: opts.extractWeights }), models.length));
    } catch (e) {
      const err = toModeldiffError(e, path);
      if (err.code === 'CANCELLED') throw err;
      errors.push({ ...err.toJSON(), file: basename(path), path });
    }
  }
  mkdirSync(opts.outDir, { recursive: true });
  const hashing = opts.hashes ? startHashPass(models.map((m) => m.info.path), { inThread: workers === 0, extractWeights: !!opts.extractWeights, ...opts.hashes }, opts.signal) : null;
  // observed now, so a failure before it is awaited below is not an unhandled rejection
  hashing?.done.catch(() => {});
  try {
    return await compareLoaded(models, errors, opts, hashing, { report, elapsed, workers, memoryBudgetMiB, includeEma, components });
  } catch (e) {
    hashing?.stop();
    await hashing?.done.catch(() => {});
    throw e;
  }
}

interface RunContext {
  report: (p: Omit<Progress, 'elapsedSeconds'>) => void;
  elapsed: () => number;
  workers: number;
  memoryBudgetMiB: number;
  includeEma: boolean;
  components: string[] | null;
}

async function compareLoaded(models: LoadedModel[], errors: FileError[], opts: CompareOptions, hashing: HashPass | null, ctx: RunContext): Promise<CompareResult> {
  const { report, elapsed, workers, memoryBudgetMiB, includeEma, components } = ctx;

  // A file that fails while its data is read (changed on disk, I/O error) is dropped and the rest compared again.
  for (;;) {
    const plan = makePlan(models, { components, includeEma });
    const layers = new LayersWriter(join(opts.outDir, 'layers.bin'), plan.keys.length, plan.pairs.length, 2);
    const builder = new ResultBuilder(plan, models, layers);
    const startedAt = elapsed();
    const total = plan.bytesTotal + (hashing?.bytesTotal ?? 0);
    const progress = (engineDone: number) => {
      const done = engineDone + (hashing?.bytesDone() ?? 0);
      const spent = elapsed() - startedAt;
      report({ phase: 'comparing', bytesDone: done, bytesTotal: total, etaSeconds: done > 0 ? (spent / done) * (total - done) : null });
    };
    report({ phase: 'comparing', bytesDone: 0, bytesTotal: total, etaSeconds: null, message: `${models.length} models, ${plan.pairs.length} pairs${hashing ? ', with hashes' : ''}` });
    let stats;
    try {
      stats = await runEngine(
        plan,
        {
          workers,
          memoryBudgetMiB,
          trustRatio: opts.trustRatio ?? DEFAULT_TRUST_RATIO,
          kernels: opts.kernels ?? 'wasm',
          signal: opts.signal,
          onBytes: progress,
        },
        (unit, r) => builder.addUnit(unit, r),
      );
    } catch (e) {
      layers.close();
      const err = toModeldiffError(e);
      const bad = err.code !== 'CANCELLED' && err.file ? models.findIndex((m) => m.info.path === err.file || err.file!.startsWith(m.info.path + '/')) : -1;
      if (bad < 0) throw err;
      errors.push({ ...err.toJSON(), file: models[bad]!.info.file, path: models[bad]!.info.path });
      models = models.filter((_, i) => i !== bad).map((m, i) => ({ ...m, info: { ...m.info, index: i } }));
      continue;
    }
    layers.close();
    const hashes = hashing ? await finishHashing(hashing, models.length, stats.bytesRead, total, report, elapsed() - startedAt) : null;
    report({ phase: 'writing', bytesDone: total, bytesTotal: total, etaSeconds: 0 });
    const result: CompareResult = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      tool: { name: 'modeldiff', version: TOOL_VERSION },
      createdAt: new Date().toISOString(),
      options: { metric: 'l2', components, includeEma, workers, memoryBudgetMiB, ...(opts.extractWeights ? { extractWeights: true } : {}) },
      models: models.map((m) => (hashes?.has(m.info.path) ? { ...m.info, hashes: hashes.get(m.info.path)! } : m.info)),
      errors,
      components: plan.components,
      pairs: builder.pairs(),
      layers: { file: 'layers.bin', keys: plan.keys, keyComponents: plan.keyComponents, pairs: plan.pairs.length, planes: ['l2', 'cosine'] },
      stats: {
        seconds: elapsed(),
        bytesRead: stats.bytesRead,
        bytesTotal: plan.bytesTotal,
        tensorsCompared: builder.tensorsCompared,
        identicalGroups: builder.identicalGroups,
        guardRecomputes: stats.guardRecomputes,
        kernels: stats.kernels,
      },
    };
    writeResultJson(opts.outDir, result);
    writeModelMap(opts.outDir, result);
    report({ phase: 'done', bytesDone: total, bytesTotal: total, etaSeconds: 0 });
    return result;
  }
}

/** Waits for the hash pass (reporting its progress) and maps path -> hashes. */
async function finishHashing(
  hashing: HashPass,
  count: number,
  engineBytes: number,
  total: number,
  report: RunContext['report'],
  spent: number,
): Promise<Map<string, ModelHashSummary>> {
  const t0 = performance.now();
  const tick = () => {
    const done = engineBytes + hashing.bytesDone();
    const rate = done / Math.max(1e-3, spent + (performance.now() - t0) / 1000);
    report({ phase: 'hashing', bytesDone: done, bytesTotal: total, etaSeconds: rate > 0 ? (total - done) / rate : null, message: `hashing ${count} models` });
  };
  const timer = setInterval(tick, 250);
  try {
    tick();
    const list = await hashing.done;
    const out = new Map<string, ModelHashSummary>();
    hashing.paths.forEach((p, i) => list[i] && out.set(p, list[i]!));
    return out;
  } finally {
    clearInterval(timer);
  }
}
