import { setMaxListeners } from 'node:events';
import Piscina from 'piscina';
import { cancelled, throwIfAborted, toModeldiffError, type ModeldiffError } from '../../shared/errors';
import { createKernels } from '../kernels';
import { isQuantised } from '../io/readQuant';
import { decodableToF64 } from './decodeF64';
import { runTask } from './runTask';
import { unwrapReply, type ThreadReply } from '../workers/threadReply';
import { workerFile } from '../workers/workerFiles';
import type { Plan, Unit } from './plan';
import { foldLayout, foldOrder, type FoldLayout } from './partialSums';
import type { FileIdentity } from '../io/regularFile';
import type { TensorRef } from '../model/checkpoint';
import { PAIR_SUB_COLUMNS } from '../kernels/types';
import { SUM_BLOCK_ELEMENTS, type ItemResult, type TaskResult, type WorkItem, type WorkTask } from './workTask';

export interface EngineOptions {
  /** worker threads; 0 runs in the calling thread (tests, tiny inputs) */
  workers: number;
  memoryBudgetMiB: number;
  kernels: 'wasm' | 'reference';
  signal?: AbortSignal;
  onBytes?: (bytesDone: number) => void;
  /** work (elements x members) per task, default TASK_WORK (tests make it small to get many tasks from small files) */
  taskWork?: number;
  /** the tasks to run (default: engineTasks of the whole plan) */
  tasks?: PlannedTask[];
  /** compute only the units marked 1 (a shard, or what a checkpoint does not hold); tasks keep their chunk sizes */
  units?: Uint8Array;
  /** model -> 1: only the pairs with such a model are needed (a run reusing an earlier result; WorkItem.rowsWanted) */
  wantedModels?: Uint8Array;
}

/** An item as planned: its unit and range. Its members' refs are made as its task is handed out. */
export type PlannedItem = Omit<WorkItem, 'members' | 'rowsWanted'>;

/** A task as planned: what it reads and how; the refs, file versions and wanted rows are added as it is handed out. */
export interface PlannedTask extends Omit<WorkTask, 'files' | 'items'> {
  items: PlannedItem[];
}

/** A unit's sums over all its elements (the merge of its items): an item's sums without its element range. */
export type UnitResult = Omit<ItemResult, 'unit' | 'start' | 'count'>;

export interface EngineStats {
  bytesRead: number;
  kernels: string;
}

/** Elements of one unit handed to a worker at a time; larger tensors are split so both cores share them. */
const SPLIT_ELEMENTS = 1 << 22;
/** Work (elements x members) per task: coarse enough to amortise messaging, fine enough for smooth progress. */
const TASK_WORK = 1 << 24;
const MAX_CHUNK = 1 << 18;
/**
 * Result bytes per task (resultBytes: 17 bytes a pair of members): a task's results are held in the worker and again in
 * this thread until they are folded in, so at m = 1,000 (8.5 MB an item) they, not the tensor bytes, bound the memory;
 * one item per task at least.
 */
const TASK_RESULT_BYTES = 8 << 20;
/** Tasks handed to the pool per worker at a time: one running, one ready to post the moment it ends. */
const IN_FLIGHT_PER_WORKER = 2;

/** Streams every unit of the plan through the kernels; `onUnit` receives each unit once all its ranges are done. */
export async function runEngine(plan: Plan, opts: EngineOptions, onUnit: (unit: Unit, r: UnitResult) => void): Promise<EngineStats> {
  throwIfAborted(opts.signal);
  const tasks = onlyUnits(opts.tasks ?? engineTasks(plan, opts), opts.units);
  // made per task as it is handed out: at 1,000 models every task would otherwise hold 1,000 file versions up front
  const workTask = (t: PlannedTask): WorkTask => handedOut(plan, t, opts.wantedModels);
  // a unit's items are added in the order of their ranges, whichever thread finishes first
  const pending = new Map<number, { remaining: number; items: ItemResult[] }>();
  for (const t of tasks) for (const it of t.items) {
    const p = pending.get(it.unit);
    if (p) p.remaining++;
    else pending.set(it.unit, { remaining: 1, items: [] });
  }
  const stats: EngineStats = { bytesRead: 0, kernels: opts.kernels };
  const absorb = (r: TaskResult) => {
    stats.bytesRead += r.bytesRead;
    stats.kernels = r.kernels;
    for (const it of r.items) {
      const p = pending.get(it.unit)!;
      p.items.push(it);
      if (--p.remaining === 0) {
        pending.delete(it.unit);
        p.items.sort((a, b) => a.start - b.start);
        let acc = fromItem(p.items[0]!);
        for (let i = 1; i < p.items.length; i++) acc = mergeInto(acc, p.items[i]!);
        onUnit(plan.units[it.unit]!, acc);
      }
    }
    opts.onBytes?.(stats.bytesRead);
  };

  if (opts.workers <= 0) {
    const kernels = createKernels(opts.kernels);
    for (const t of tasks) {
      throwIfAborted(opts.signal);
      absorb(runTask(workTask(t), kernels));
      await new Promise((r) => setImmediate(r));
    }
    return stats;
  }

  const pool = new Piscina({
    filename: workerFile('engine'),
    minThreads: opts.workers,
    maxThreads: opts.workers,
    idleTimeout: 1000,
    concurrentTasksPerWorker: 1,
    // a worker's garbage is the tasks it was sent: a small nursery (default 16-32 MiB) lowers the peak by 35 MiB at
    // 232 models and costs no time
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  // piscina listens on the signal once per queued task: give it a signal of our own with no listener limit
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const forward = () => abort.abort();
  opts.signal?.addEventListener('abort', forward, { once: true });
  // The first failure stops the rest: queued tasks are aborted, and only once every task has settled is the pool
  // destroyed, so no reply arrives for a task piscina has already forgotten ("Unexpected message from Worker").
  let failure: ModeldiffError | undefined;
  const fail = (e: unknown) => {
    failure ??= opts.signal?.aborted ? cancelled() : toModeldiffError(e);
    abort.abort();
  };
  pool.on('error', fail);
  // Tasks go to the pool a few at a time, in fold order: results then arrive nearly in that order, so the fold's live
  // partial sums stay few. (Queued all at once, piscina re-queues a task it could not place at the tail, and leaves
  // finished out of order held hundreds of partials: 400 MiB at 232 models.)
  let next = 0;
  const feed = async (): Promise<void> => {
    while (next < tasks.length && !failure) {
      const t = tasks[next++]!;
      try {
        const reply: ThreadReply<TaskResult> = await pool.run(workTask(t), { signal: abort.signal });
        if (!failure) absorb(unwrapReply(reply));
      } catch (e) {
        if (!failure) fail(e);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.workers * IN_FLIGHT_PER_WORKER }, feed));
  } finally {
    opts.signal?.removeEventListener('abort', forward);
    await pool.destroy();
  }
  if (failure) throw failure;
  return stats;
}

/** The tasks of a plan, its units in fold order (partialSums.ts: by key name, so the tree's live nodes stay few). Which
 *  units share a task and the chunk sizes set only the memory and the pace: no number depends on them. */
export function engineTasks(plan: Plan, opts: Pick<EngineOptions, 'workers' | 'memoryBudgetMiB' | 'kernels' | 'taskWork'>, layout: FoldLayout = foldLayout(plan)): PlannedTask[] {
  return makeTasks(foldOrder(layout).map((id) => plan.units[id]!), opts);
}

/** The memory budget per worker that sets the chunk sizes (the memory a task's reads take, not the numbers). */
function chunkBudgetBytes(opts: Pick<EngineOptions, 'workers' | 'memoryBudgetMiB'>): number {
  return (opts.memoryBudgetMiB * 1024 * 1024) / Math.max(1, opts.workers);
}

function onlyUnits(tasks: PlannedTask[], units: Uint8Array | undefined): PlannedTask[] {
  if (!units) return tasks;
  return tasks.map((t) => ({ ...t, items: t.items.filter((it) => units[it.unit] === 1) })).filter((t) => t.items.length > 0);
}

/** The task as a worker gets it: the members' refs, the version of each file it reads, and the wanted rows of a run
 *  reusing a result. (Made per task as it is handed out: at 1,000 models the refs of every task would be 1.1 million
 *  objects held all run long.) */
function handedOut(plan: Plan, t: PlannedTask, wanted: Uint8Array | undefined): WorkTask {
  const files: Record<string, FileIdentity> = {};
  const refsOf = new Map<number, TensorRef[]>();
  const items = t.items.map((it): WorkItem => {
    const unit = plan.units[it.unit]!;
    let members = refsOf.get(it.unit);
    if (!members) refsOf.set(it.unit, (members = unit.members.refs()));
    for (const r of members) if (!(r.file in files) && plan.files.has(r.file)) files[r.file] = plan.files.get(r.file)!;
    return wanted ? { ...it, members, rowsWanted: Uint8Array.from(unit.members.models, (model) => wanted[model]!) } : { ...it, members };
  });
  return { ...t, items, files };
}

/** Bytes of an item's result (workTask.ts ItemResult): 17 a pair (d2, dot, identical), 11 a member. */
function resultBytes(m: number): number {
  return (17 * m * (m - 1)) / 2 + 11 * m;
}

/** A worker's bytes for an item of m members besides its chunks (runTask.ts pairItem): the pair matrix of the kernel,
 *  its packed sub-block, and the result. (8.4 + 2 + 8.5 MB at 1,000 members; 1.4 MB at 232.) */
function itemFixedBytes(m: number): number {
  return (m + 1) * (m + 1) * 8 + (m + 1) * PAIR_SUB_COLUMNS * 4 + resultBytes(m);
}

function makeTasks(units: Unit[], opts: Pick<EngineOptions, 'workers' | 'memoryBudgetMiB' | 'kernels' | 'taskWork'>): PlannedTask[] {
  const budgetPerWorker = chunkBudgetBytes(opts);
  const items: (PlannedItem & { m: number })[] = [];
  for (const u of units) {
    const m = u.members.length;
    // every split point (a multiple of SPLIT_ELEMENTS) starts a whole block of any quantised encoding
    const splittable = u.members.refs().every((r) => decodableToF64(r.dtype) || isQuantised(r));
    if (!splittable || u.numel <= SPLIT_ELEMENTS) {
      items.push({ unit: u.id, start: 0, count: u.numel, m });
      continue;
    }
    for (let s = 0; s < u.numel; s += SPLIT_ELEMENTS) items.push({ unit: u.id, start: s, count: Math.min(SPLIT_ELEMENTS, u.numel - s), m });
  }
  const tasks: PlannedTask[] = [];
  let cur: PlannedItem[] = [];
  let mMax = 0;
  let work = 0;
  let taskResultBytes = 0;
  const flush = () => {
    if (!cur.length) return;
    const B = SUM_BLOCK_ELEMENTS;
    // what an item of mMax members holds whatever the chunk size comes out of the budget first
    const elementsFit = Math.max(0, budgetPerWorker - itemFixedBytes(mMax)) / (mMax * 8);
    const chunk = Math.max(B, Math.min(MAX_CHUNK, Math.floor(elementsFit / B) * B));
    tasks.push({ items: cur, chunkElements: chunk, kernels: opts.kernels });
    cur = [];
    mMax = 0;
    work = 0;
    taskResultBytes = 0;
  };
  for (const { m, ...it } of items) {
    const itemResultBytes = resultBytes(m);
    if (cur.length && taskResultBytes + itemResultBytes > TASK_RESULT_BYTES) flush();
    cur.push(it);
    mMax = Math.max(mMax, m);
    work += Math.max(it.count, 1024) * m;
    taskResultBytes += itemResultBytes;
    if (work >= (opts.taskWork ?? TASK_WORK)) flush();
  }
  flush();
  return tasks;
}

function fromItem(it: ItemResult): UnitResult {
  return { m: it.m, d2: it.d2, dot: it.dot, sq: it.sq, identical: it.identical, nonFinite: it.nonFinite, allZero: it.allZero, undecodable: it.undecodable, fp8Grid: it.fp8Grid, fp8AtMax: it.fp8AtMax };
}

function mergeInto(acc: UnitResult, it: ItemResult): UnitResult {
  for (let i = 0; i < acc.d2.length; i++) {
    acc.d2[i] += it.d2[i]!;
    acc.dot[i] += it.dot[i]!;
    acc.identical[i] &= it.identical[i]!;
  }
  for (let i = 0; i < acc.m; i++) {
    acc.sq[i] += it.sq[i]!;
    acc.nonFinite[i] |= it.nonFinite[i]!;
    acc.allZero[i] &= it.allZero[i]!;
    acc.fp8Grid[i] &= it.fp8Grid[i]!;
    acc.fp8AtMax[i] |= it.fp8AtMax[i]!;
  }
  acc.undecodable ||= it.undecodable;
  return acc;
}
