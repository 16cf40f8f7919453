import { cpus } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { distinctPathSuffixes } from '../../shared/displayNames';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../shared/errors';
import { ResultBuilder } from '../engine/resultBuilder';
import { makePlan } from '../engine/plan';
import { engineTasks, runEngine } from '../engine/runEngine';
import { foldLayout, NodeSpill, shardLeaves } from '../engine/partialSums';
import { CHECKPOINT_SECONDS, SumsRun, type EngineCounts, type ShardSpec } from './sumsRun';
import { readSumsFile, SUMS_FILE, sumsFingerprint, writeSumsFile, type SumsFingerprint } from '../engine/checkpoint';
import { keptState, planReuse, readPrevious, reuseText, type Previous, type Reuse } from './incremental';
import { loadModel, type LoadedModel } from '../model/loadModel';
import { SharedHeaders } from '../model/sharedHeaders';
import { LayersWriter } from '../output/layersFile';
import { writeModelMap, writeResultJson } from '../output/resultFiles';
import { openCheckpoint } from '../readers/registry';
import { DEFAULT_MEMORY_BUDGET_MIB, RESULT_SCHEMA_VERSION, type CompareResult, type FileError, type ModelHashSummary } from '../../shared/result';
import { findModels } from '../readers/findModels';
import { TOOL_VERSION } from '../output/toolVersion';
import { OutputStaging } from '../output/outputFolder';
import { changedSinceRead } from '../io/regularFile';
import { outputError } from '../output/outputError';
import { startHashPass, type HashPass, type HashPassOptions } from './hashPass';
import { phaseLog, type PhaseLog } from './phaseLog';
import { runLoraCompare } from './loraCompare';
import { loraCompareInWorker } from '../workers/loraCompareInWorker';
import { looksLikeLora } from '../lora/index';

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
  /**
   * compute every pair: ignore a checkpoint an interrupted run left in `<out>.partial/` (default: carry on from it) and
   * the earlier result in the output folder (default: reuse its kept pairs, pipeline/incremental.ts)
   */
  fresh?: boolean;
  /** an earlier result folder of these inputs to reuse (default: the output folder); --fresh ignores it */
  previous?: string;
  /** least time between two checkpoints (default 5 s; 0: after every finished leaf) */
  checkpointSeconds?: number;
  /** told when a checkpoint is used or ignored (and why) */
  onNotice?: (message: string) => void;
  /** told after each checkpoint is written: leaves finished, of how many (tests) */
  onCheckpoint?: (finished: number, leaves: number) => void;
  /** compute only shard `index` (0-based) of `count`: the output folder gets its partial sums, not a result */
  shard?: ShardSpec;
  /** work (elements x members) per engine task, default 2^24: tests make it small to get many tasks from small files */
  taskWork?: number;
  /** add these shard output folders together instead of computing (`modeldiff merge`) */
  mergeFrom?: string[];
  /**
   * A base checkpoint, for inputs that include LoRAs (pipeline/loraCompare.ts): LoRAs are mapped onto its keys and
   * checkpoints among the inputs are measured as their difference from it. Without LoRAs among the inputs it is unused.
   */
  base?: string;
}

export interface Progress {
  phase: 'scanning' | 'reading headers' | 'comparing' | 'hashing' | 'writing' | 'done';
  bytesDone: number;
  bytesTotal: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
  message?: string;
}

/**
 * The whole job: find the models, read their headers, compare every pair, write the outputs. The outputs are written
 * into a staging folder and swapped in for `opts.outDir` only when the run succeeds; a run that fails or is
 * cancelled leaves the folder as it was. One model's fault (unreadable, refused, changed on disk during the run) is
 * listed in `errors` and the run goes on with the others.
 */
export async function compareModels(inputs: string[], opts: CompareOptions): Promise<CompareResult> {
  if (opts.shard) throw new ModeldiffError('ENGINE_INTERNAL', 'a shard run is computeShard');
  return (await runCompare(inputs, opts)) as CompareResult;
}

/**
 * `compare --shard i/n`: computes shard i (0-based) of n of the work and leaves its partial sums (and its rows of the
 * per-layer values) in `opts.outDir`, for `mergeShards`. Resumable like a whole run.
 */
export async function computeShard(inputs: string[], opts: CompareOptions & { shard: ShardSpec }): Promise<ShardSummary> {
  const { index, count } = opts.shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new ModeldiffError('USAGE', `--shard is i/n with 0 <= i < n (got ${index}/${count})`);
  }
  return (await runCompare(inputs, opts)) as ShardSummary;
}

/**
 * `modeldiff merge`: adds the shards' partial sums into the whole result, written to `opts.outDir` as a compare run
 * writes it (the same bytes as one run over all the work, bar the run's own record: createdAt and seconds). The model
 * files must still be where the shards read them (their headers are read again, and must not have changed).
 */
export async function mergeShards(shardDirs: string[], opts: Pick<CompareOptions, 'outDir' | 'signal' | 'onProgress' | 'onNotice'>): Promise<CompareResult> {
  if (!shardDirs.length) throw new ModeldiffError('USAGE', 'give the output folders of the shards to merge');
  const dirs = shardDirs.map((d) => resolve(d));
  let first;
  try {
    first = readSumsFile(join(dirs[0]!, SUMS_FILE));
  } catch (e) {
    throw new ModeldiffError('USAGE', `not the output of a finished \`compare --shard\` (${(e as Error).message})`, { file: dirs[0] });
  }
  if (!first.shard) throw new ModeldiffError('USAGE', 'not the output of a finished `compare --shard`: a compare result (give the shards\' folders)', { file: dirs[0] });
  const o = first.fingerprint.options;
  return (await runCompare(first.run.inputs, {
    ...opts,
    components: o.components,
    includeEma: o.includeEma,
    kernels: o.kernels === 'reference' ? 'reference' : 'wasm',
    workers: first.run.workers,
    memoryBudgetMiB: first.run.memoryBudgetMiB,
    extractWeights: first.run.extractWeights,
    mergeFrom: dirs,
  })) as CompareResult;
}

async function runCompare(inputs: string[], opts: CompareOptions): Promise<CompareResult | ShardSummary> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const report = (p: Omit<Progress, 'elapsedSeconds'>) => opts.onProgress?.({ ...p, elapsedSeconds: elapsed() });
  const workers = opts.workers ?? Math.min(4, Math.max(1, cpus().length));
  const memoryBudgetMiB = opts.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB;
  const includeEma = opts.includeEma ?? true;
  const components = opts.components ?? null;
  const phases = phaseLog();

  const staging = OutputStaging.begin(opts.outDir, { resume: !opts.fresh && !opts.mergeFrom });
  let hashing: HashPass | null = null;
  try {
    report({ phase: 'scanning', bytesDone: 0, bytesTotal: 0, etaSeconds: null });
    const paths = await findModels(inputs);
    throwIfAborted(opts.signal);
    phases.mark('scan', `${paths.length} files`);

    report({ phase: 'reading headers', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: `${paths.length} models` });
    const errors: FileError[] = [];
    const models = await openModels(paths, errors, opts);
    // LoRAs are compared by the change they make, not tensor by tensor: their own run, which opens its inputs again
    // (only when there is a LoRA among them, so a folder of checkpoints has its headers read once)
    if (models === 'lora') {
      if (opts.shard || opts.mergeFrom) throw new ModeldiffError('USAGE', 'LoRAs are compared in one run: --shard and merge are for checkpoints');
      // (in a thread of its own unless told to stay in this one: its long synchronous steps would block progress and Ctrl-C)
      const result = workers === 0 ? await runLoraCompare(paths, opts, staging.dir, { report, elapsed }) : await loraCompareInWorker(paths, opts, staging.dir, { report, elapsed });
      throwIfAborted(opts.signal);
      staging.commit();
      report({ phase: 'done', bytesDone: result.stats.bytesTotal, bytesTotal: result.stats.bytesTotal, etaSeconds: 0 });
      return result;
    }
    phases.mark('headers', `${models.length} models`);
    hashing = opts.hashes ? startHashPass(models.map((m) => m.info.path), { inThread: workers === 0, extractWeights: !!opts.extractWeights, ...opts.hashes }, opts.signal) : null;
    // observed now, so a failure before it is awaited below is not an unhandled rejection
    hashing?.done.catch(() => {});
    const previous = opts.fresh || opts.shard || opts.mergeFrom ? null : readPrevious(opts.previous ?? staging.out, (m) => opts.onNotice?.(m));
    const result = await compareLoaded(models, errors, opts, hashing, staging.dir, { report, elapsed, workers, memoryBudgetMiB, includeEma, components, phases, inputs, resumed: staging.resumed, previous });
    throwIfAborted(opts.signal);
    staging.commit();
    phases.mark('commit');
    if ('stats' in result) report({ phase: 'done', bytesDone: result.stats.bytesTotal, bytesTotal: result.stats.bytesTotal, etaSeconds: 0 });
    return result;
  } catch (e) {
    hashing?.stop();
    await hashing?.done.catch(() => {});
    try {
      // stopped by the user after a checkpoint: the next run carries on from it
      if (toModeldiffError(e).code === 'CANCELLED' && SumsRun.hasCheckpoint(staging.dir) && !opts.mergeFrom) {
        staging.keep();
        opts.onNotice?.(`stopped; the work done so far is kept in ${staging.dir}: run the same command again to carry on from it (--fresh to start again)`);
      } else staging.discard();
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
/** The models of a checkpoint run, or 'lora' as soon as one input is a LoRA (compared by its delta instead). */
async function openModels(paths: string[], errors: FileError[], opts: CompareOptions): Promise<LoadedModel[] | 'lora'> {
  const models: LoadedModel[] = [];
  const byInodes = new Map<string, LoadedModel>();
  const shared = new SharedHeaders();
  for (const path of paths) {
    throwIfAborted(opts.signal);
    try {
      const checkpoint = await openCheckpoint(path, opts.signal, { extractWeights: opts.extractWeights });
      if (looksLikeLora(checkpoint)) return 'lora';
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
    const err = await changedSinceRead(models[i]!.files);
    if (err) out.push({ model: i, err });
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
  inputs: string[];
  /** the staging folder holds an interrupted run's checkpoint */
  resumed: boolean;
  /** an earlier result of these inputs, to reuse (pipeline/incremental.ts) */
  previous: Previous | null;
}

/** What a shard run leaves: its share of the work, as partial sums in its output folder. */
export interface ShardSummary {
  shard: ShardSpec;
  /** parts of the work (leaves) in this shard, and in all */
  leaves: number;
  of: number;
  bytesRead: number;
  models: number;
  errors: FileError[];
}

async function compareLoaded(models: LoadedModel[], errors: FileError[], opts: CompareOptions, hashing: HashPass | null, outDir: string, ctx: RunContext): Promise<CompareResult | ShardSummary> {
  const spill = new NodeSpill(outDir);
  try {
    return await compareLoadedWith(spill, models, errors, opts, hashing, outDir, ctx);
  } finally {
    spill.close();
  }
}

async function compareLoadedWith(spill: NodeSpill, models: LoadedModel[], errors: FileError[], opts: CompareOptions, hashing: HashPass | null, outDir: string, ctx: RunContext): Promise<CompareResult | ShardSummary> {
  const { report, elapsed, workers, memoryBudgetMiB, includeEma, components, phases } = ctx;
  const drop = (faults: { model: number; err: ModeldiffError }[]) => {
    const gone = new Set(faults.map((f) => f.model));
    for (const f of faults) errors.push(fileError(f.err, models[f.model]!.info.path));
    models = models.filter((_, i) => !gone.has(i)).map((m, i) => ({ ...m, info: { ...m.info, index: i } }));
  };
  const kernels = opts.kernels ?? 'wasm';
  let mayResume = ctx.resumed;

  // A file that fails while its data is read (changed on disk, I/O error) is dropped and the rest compared again.
  for (;;) {
    const plan = makePlan(models, { components, includeEma });
    if (models.length < (opts.minModels ?? 0)) throw nothingToCompare(models.length + errors.length, models.length, errors);
    if (opts.minModels && !plan.components.length) {
      throw new ModeldiffError('NOTHING_TO_COMPARE', `nothing to compare: no model has ${components ? `the components asked for (${components.join(', ')})` : 'a tensor to compare'}`, { details: { errors } });
    }
    phases.mark('plan', `${plan.keys.length} keys, ${plan.units.length} units, ${plan.pairs.length} pairs`);
    const engineOpts = { workers, memoryBudgetMiB, kernels, taskWork: opts.taskWork };
    const layout = foldLayout(plan);
    const tasks = engineTasks(plan, engineOpts, layout);
    const shard = opts.shard ?? null;
    const share = shard ? shardLeaves(layout, shard.index, shard.count) : new Uint8Array(layout.leaves).fill(1);
    // (worked out once: a digest of every header takes a while at 232 models)
    let fingerprintOnce: SumsFingerprint | undefined;
    const fingerprint = () => (fingerprintOnce ??= sumsFingerprint(models, { components, includeEma, kernels }, layout.leaves, plan.keys.length));
    const reuse: Reuse | null = ctx.previous && !shard ? planReuse(ctx.previous, fingerprint(), plan, (m) => opts.onNotice?.(m)) : null;
    if (reuse) opts.onNotice?.(reuseText(reuse.stats));
    const sums = new SumsRun({
      dir: outDir,
      fingerprint: () => ({ ...fingerprint(), ...(reuse ? { basis: reuse.basis } : {}) }),
      run: { inputs: ctx.inputs, workers, memoryBudgetMiB, extractWeights: !!opts.extractWeights },
      shard,
      share,
      checkpointSeconds: opts.checkpointSeconds ?? CHECKPOINT_SECONDS,
      notice: (m) => opts.onNotice?.(m),
      onCheckpoint: opts.onCheckpoint,
    });
    const prior = mayResume ? sums.loadCheckpoint() : null;
    mayResume = false;
    if (!prior) sums.discardCheckpoint();
    const layersPath = join(outDir, 'layers.bin');
    const layers = prior ? new LayersWriter(layersPath, plan.keys.length, plan.pairs.length, 2, prior.state.written) : new LayersWriter(layersPath, plan.keys.length, plan.pairs.length, 2);
    const engineStats: EngineCounts = { bytesRead: 0, kernels };
    // reusing an earlier result: only the computed units are folded here, the kept pairs' rows filled in as written
    const kept = reuse ? keptState(reuse, plan, layout) : null;
    const foldLayoutOfRun = reuse ? { ...layout, unitsOf: layout.unitsOf.map((us) => us.filter((u) => reuse.masks.computed[u])) } : layout;
    const builder: ResultBuilder = new ResultBuilder(plan, models, kept ? kept.rows.sink(layers) : layers, foldLayoutOfRun, () => sums.maybeCheckpoint(builder, layers, engineStats), reuse?.masks, spill);
    // (a checkpoint of a run reusing the same result holds what was kept already)
    if (prior) builder.absorb(prior.state);
    else if (kept) builder.seedKept(kept.kept);
    if (reuse) builder.addSkippedLeaves();
    phases.mark('setup');
    const startedAt = elapsed();
    let stats: { bytesRead: number; kernels: string };
    if (opts.mergeFrom) {
      stats = sums.mergeShards(opts.mergeFrom, builder, layers);
      phases.mark('merge', `${opts.mergeFrom.length} shards`);
    } else {
      const finished = builder.finishedLeaves();
      const units = new Uint8Array(plan.units.length);
      let bytesToDo = 0;
      for (const u of plan.units) {
        const leaf = layout.leafOf[u.id]!;
        if (share[leaf] && !finished[leaf] && (!reuse || reuse.masks.computed[u.id])) {
          units[u.id] = 1;
          bytesToDo += u.bytes;
        }
      }
      const total = bytesToDo + (hashing?.bytesTotal ?? 0);
      const pairsText = reuse ? `${reuse.stats.pairsComputed} pairs to compute, ${reuse.stats.pairsKept} kept` : `${plan.pairs.length} pairs`;
      const progress = (engineDone: number) => {
        engineStats.bytesRead = engineDone;
        const done = engineDone + (hashing?.bytesDone() ?? 0);
        const spent = elapsed() - startedAt;
        report({ phase: 'comparing', bytesDone: done, bytesTotal: total, etaSeconds: done > 0 ? (spent / done) * (total - done) : null, ...(reuse ? { message: pairsText } : {}) });
      };
      report({ phase: 'comparing', bytesDone: 0, bytesTotal: total, etaSeconds: null, message: `${models.length} models, ${pairsText}${shard ? `, shard ${shard.index}/${shard.count}` : ''}${hashing ? ', with hashes' : ''}` });
      try {
        // nothing to compute (only models removed, or a resumed run with nothing left): no file is read
        const run = units.includes(1)
          ? await runEngine(plan, { ...engineOpts, signal: opts.signal, onBytes: progress, tasks, units, ...(reuse ? { wantedModels: reuse.masks.wanted } : {}) }, (unit, r) => builder.addUnit(unit, r))
          : { bytesRead: 0, kernels: sums.carried.kernels || ctx.previous?.sums.kernels || kernels };
        // (a resumed run with nothing left to compute reports the kernels that did the work)
        stats = { bytesRead: sums.carried.bytesRead + run.bytesRead, kernels: run.bytesRead === 0 && sums.carried.kernels ? sums.carried.kernels : run.kernels };
        engineStats.kernels = run.kernels;
      } catch (e) {
        const err = toModeldiffError(e);
        // stopped by the user: the work done is kept for the next run (none done: nothing is kept)
        if (err.code === 'CANCELLED' && builder.foldedWork()) {
          try {
            sums.checkpoint(builder, layers, engineStats);
          } catch {
            sums.discardCheckpoint();
          }
        }
        layers.abandon();
        kept?.rows.close();
        const bad = modelOfFault(err, models);
        if (bad < 0) throw err;
        drop([{ model: bad, err }]);
        continue;
      }
      phases.mark('engine', `${stats.bytesRead} bytes read, ${stats.kernels}, ${workers} workers`);
    }
    if (kept) {
      const computedKeys = new Uint8Array(plan.keys.length);
      for (const u of plan.units) if (reuse!.masks.computed[u.id]) computedKeys[u.key] = 1;
      try {
        kept.rows.writeKept(layers, computedKeys, 2);
      } finally {
        kept.rows.close();
      }
      builder.addKeptSums(kept.sums);
      phases.mark('kept', `${reuse!.stats.pairsKept} pairs`);
    }
    layers.close(!shard);
    const hashes = hashing ? await finishHashing(hashing, models.length, stats.bytesRead, plan.bytesTotal + hashing.bytesTotal, report, elapsed() - startedAt) : null;
    if (hashing) phases.mark('hashes');
    // Checked again before the results are kept: a file rewritten after its last read is not the file compared.
    const changed = await changedModels(models);
    if (changed.length) {
      drop(changed);
      continue;
    }
    if (shard) {
      writeSumsFile(sums.path, sums.file(builder, { bytesRead: stats.bytesRead - sums.carried.bytesRead, kernels: stats.kernels }));
      let leaves = 0;
      for (const x of share) leaves += x;
      return { shard, leaves, of: layout.leaves, bytesRead: stats.bytesRead, models: models.length, errors };
    }
    sums.discardCheckpoint();
    builder.finishHealth();
    // the final sums stay beside the result, for the next run over these models to reuse
    const runStats = { bytesRead: stats.bytesRead - sums.carried.bytesRead, kernels: stats.kernels };
    try {
      writeSumsFile(sums.path, { ...sums.file(builder, runStats), fingerprint: fingerprint(), keyNames: plan.keys });
    } catch (e) {
      throw outputError(e, sums.path, 'write the partial sums');
    }
    phases.mark('sums');
    report({ phase: 'writing', bytesDone: plan.bytesTotal, bytesTotal: plan.bytesTotal, etaSeconds: 0 });
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
        // the direct pair kernel needs no cancellation guard (LoRA comparisons still count theirs)
        guardRecomputes: 0,
        kernels: stats.kernels,
        ...(reuse ? { incremental: reuse.stats } : {}),
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
