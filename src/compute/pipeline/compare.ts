import { cpus } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { distinctPathSuffixes } from '../../shared/displayNames';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../shared/errors';
import { ResultBuilder } from '../engine/resultBuilder';
import { makePlan } from '../engine/plan';
import { runEngine } from '../engine/runEngine';
import { loadModel, type LoadedModel } from '../model/loadModel';
import { SharedHeaders } from '../model/sharedHeaders';
import { LayersWriter } from '../output/layersFile';
import { writeModelMap, writeResultJson } from '../output/resultFiles';
import { openCheckpoint } from '../readers/registry';
import { RESULT_SCHEMA_VERSION, type CompareResult, type FileError, type ModelHashSummary } from '../../shared/result';
import { findModels } from '../readers/findModels';
import { TOOL_VERSION } from '../output/toolVersion';
import { OutputStaging } from '../output/outputFolder';
import { currentIdentity, fileChanged, sameIdentity } from '../io/regularFile';
import { startHashPass, type HashPass, type HashPassOptions } from './hashPass';
import { phaseLog, type PhaseLog } from './phaseLog';

export interface CompareOptions {
  /**
   * where result.json, model_map_v2.json and layers.bin are written: the folder is replaced as a whole at the end of
   * the run (output/outputFolder.ts), so it must be new, empty, or an earlier compare output
   */
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
  /**
   * fewer readable models than this (after their headers are read, or after a file is dropped during the run), or no
   * component to compare, is a NOTHING_TO_COMPARE error: the output folder is left as it was, and the error's details
   * list the files that failed (default 0: any number of models is a result)
   */
  minModels?: number;
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

/**
 * The whole job: find the models, read their headers, compare every pair, write the outputs. The outputs are written
 * into a staging folder and swapped in for `opts.outDir` only when the run succeeds; a run that fails or is
 * cancelled leaves the folder as it was. One model's fault (unreadable, refused, changed on disk during the run) is
 * listed in `errors` and the run goes on with the others.
 */
export async function compareModels(inputs: string[], opts: CompareOptions): Promise<CompareResult> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const report = (p: Omit<Progress, 'elapsedSeconds'>) => opts.onProgress?.({ ...p, elapsedSeconds: elapsed() });
  const workers = opts.workers ?? Math.min(4, Math.max(1, cpus().length));
  const memoryBudgetMiB = opts.memoryBudgetMiB ?? 256;
  const includeEma = opts.includeEma ?? true;
  const components = opts.components ?? null;
  const phases = phaseLog();

  const staging = OutputStaging.begin(opts.outDir);
  let hashing: HashPass | null = null;
  try {
    report({ phase: 'scanning', bytesDone: 0, bytesTotal: 0, etaSeconds: null });
    const paths = await findModels(inputs);
    throwIfAborted(opts.signal);
    phases.mark('scan', `${paths.length} files`);

    report({ phase: 'reading headers', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: `${paths.length} models` });
    const errors: FileError[] = [];
    const models = await openModels(paths, errors, opts);
    phases.mark('headers', `${models.length} models`);
    hashing = opts.hashes ? startHashPass(models.map((m) => m.info.path), { inThread: workers === 0, extractWeights: !!opts.extractWeights, ...opts.hashes }, opts.signal) : null;
    // observed now, so a failure before it is awaited below is not an unhandled rejection
    hashing?.done.catch(() => {});
    const result = await compareLoaded(models, errors, opts, hashing, staging.dir, { report, elapsed, workers, memoryBudgetMiB, includeEma, components, phases });
    throwIfAborted(opts.signal);
    staging.commit();
    phases.mark('commit');
    report({ phase: 'done', bytesDone: result.stats.bytesTotal, bytesTotal: result.stats.bytesTotal, etaSeconds: 0 });
    return result;
  } catch (e) {
    hashing?.stop();
    await hashing?.done.catch(() => {});
    try {
      staging.discard();
    } catch {
      // the run's own failure is the one to report
    }
    throw e;
  }
}

/**
 * Reads every model's header. A file that cannot be read is listed in `errors`; a file given twice (the same path,
 * or a hard link or symlink to it) is read once, with a note, and never compared with itself.
 */
async function openModels(paths: string[], errors: FileError[], opts: CompareOptions): Promise<LoadedModel[]> {
  const models: LoadedModel[] = [];
  const byInodes = new Map<string, LoadedModel>();
  const shared = new SharedHeaders();
  for (const path of paths) {
    throwIfAborted(opts.signal);
    try {
      const checkpoint = await openCheckpoint(path, opts.signal, { extractWeights: opts.extractWeights });
      const inodes = inodesKey(checkpoint.files);
      const same = byInodes.get(inodes);
      if (same) {
        same.info.notes.push(`also given as ${path}: the same ${same.files.length > 1 ? 'files' : 'file'} (a hard link, a symlink or another path to it), read once and not compared with itself`);
        continue;
      }
      const model = loadModel(checkpoint, models.length, shared);
      byInodes.set(inodes, model);
      models.push(model);
    } catch (e) {
      const err = toModeldiffError(e, path);
      if (err.code === 'CANCELLED') throw err;
      errors.push(fileError(err, path));
    }
  }
  return models;
}

/** The files a model was read from, as inodes: equal for two paths to the same file (hard links, symlinks). */
function inodesKey(files: LoadedModel['files']): string {
  return files.map((f) => `${f.identity.dev}:${f.identity.ino}`).sort().join(' ');
}

/** A model's entry in `errors`; a fault in a file inside a folder model (diffusers) says which file. */
function fileError(err: ModeldiffError, modelPath: string): FileError {
  let message = err.message;
  if (err.file && err.file.startsWith(modelPath + sep) && !message.includes(basename(err.file))) message = `${relative(modelPath, err.file)}: ${message}`;
  return { ...err.toJSON(), message, file: basename(modelPath), path: modelPath };
}

/** The model a per-file fault belongs to (-1: not a per-file fault, so the run itself fails). */
function modelOfFault(err: ModeldiffError, models: LoadedModel[]): number {
  if (err.code === 'CANCELLED' || !err.file || err.details?.output) return -1;
  const file = err.file;
  return models.findIndex((m) => m.info.path === file || file.startsWith(m.info.path + sep) || m.files.some((f) => f.path === file));
}

/** Models one of whose files is no longer the version its header was read from (rewritten, replaced, deleted). */
async function changedModels(models: LoadedModel[]): Promise<{ model: number; err: ModeldiffError }[]> {
  const out: { model: number; err: ModeldiffError }[] = [];
  for (let i = 0; i < models.length; i++) {
    for (const f of models[i]!.files) {
      const now = await currentIdentity(f.path);
      if (now && sameIdentity(now, f.identity)) continue;
      out.push({ model: i, err: fileChanged(f.path, now ? 'the file changed while it was read' : 'the file was deleted or moved while it was read') });
      break;
    }
  }
  return out;
}

interface RunContext {
  report: (p: Omit<Progress, 'elapsedSeconds'>) => void;
  elapsed: () => number;
  workers: number;
  memoryBudgetMiB: number;
  includeEma: boolean;
  components: string[] | null;
  phases: PhaseLog;
}

async function compareLoaded(models: LoadedModel[], errors: FileError[], opts: CompareOptions, hashing: HashPass | null, outDir: string, ctx: RunContext): Promise<CompareResult> {
  const { report, elapsed, workers, memoryBudgetMiB, includeEma, components, phases } = ctx;
  const drop = (faults: { model: number; err: ModeldiffError }[]) => {
    const gone = new Set(faults.map((f) => f.model));
    for (const f of faults) errors.push(fileError(f.err, models[f.model]!.info.path));
    models = models.filter((_, i) => !gone.has(i)).map((m, i) => ({ ...m, info: { ...m.info, index: i } }));
  };

  // A file that fails while its data is read (changed on disk, I/O error) is dropped and the rest compared again.
  for (;;) {
    for (const m of models) m.info.tensorHealth = { nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 };
    const plan = makePlan(models, { components, includeEma });
    if (models.length < (opts.minModels ?? 0)) throw nothingToCompare(models.length + errors.length, models.length, errors);
    if (opts.minModels && !plan.components.length) {
      throw new ModeldiffError('NOTHING_TO_COMPARE', `nothing to compare: no model has ${components ? `the components asked for (${components.join(', ')})` : 'a tensor to compare'}`, { details: { errors } });
    }
    phases.mark('plan', `${plan.keys.length} keys, ${plan.units.length} units, ${plan.pairs.length} pairs`);
    const layers = new LayersWriter(join(outDir, 'layers.bin'), plan.keys.length, plan.pairs.length, 2);
    const builder = new ResultBuilder(plan, models, layers);
    phases.mark('setup');
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
      layers.abandon();
      const err = toModeldiffError(e);
      const bad = modelOfFault(err, models);
      if (bad < 0) throw err;
      drop([{ model: bad, err }]);
      continue;
    }
    layers.close();
    phases.mark('engine', `${stats.bytesRead} bytes read, ${stats.kernels}, ${workers} workers`);
    const hashes = hashing ? await finishHashing(hashing, models.length, stats.bytesRead, total, report, elapsed() - startedAt) : null;
    if (hashing) phases.mark('hashes');
    // Checked again before the results are kept: a file rewritten after its last read is not the file compared.
    const changed = await changedModels(models);
    if (changed.length) {
      drop(changed);
      continue;
    }
    report({ phase: 'writing', bytesDone: total, bytesTotal: total, etaSeconds: 0 });
    const names = distinctPathSuffixes(models.map((m) => m.info.path));
    const pairs = builder.pairs();
    phases.mark('pairs');
    const result: CompareResult = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      tool: { name: 'modeldiff', version: TOOL_VERSION },
      createdAt: new Date().toISOString(),
      options: { metric: 'l2', components, includeEma, workers, memoryBudgetMiB, ...(opts.extractWeights ? { extractWeights: true } : {}) },
      models: models.map((m, i) => ({ ...m.info, displayName: names[i]!, ...(hashes?.has(m.info.path) ? { hashes: hashes.get(m.info.path)! } : {}) })),
      errors,
      components: plan.components,
      pairs,
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
    writeResultJson(outDir, result);
    phases.mark('result.json');
    writeModelMap(outDir, result);
    phases.mark('model_map');
    return result;
  }
}

function nothingToCompare(found: number, readable: number, errors: FileError[]): ModeldiffError {
  const what = found === 0 ? 'no model files found' : found === 1 ? 'only one model file found' : `${readable} readable model${readable === 1 ? '' : 's'} of ${found} files`;
  return new ModeldiffError('NOTHING_TO_COMPARE', `nothing to compare: ${what} (at least two are needed)`, { details: { errors } });
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
