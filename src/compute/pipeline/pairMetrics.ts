import Piscina from 'piscina';
import { cancelled, ModeldiffError, throwIfAborted } from '../../shared/errors';
import { looksLikeLora } from '../lora/index';
import { createKernels } from '../kernels';
import { makePlan } from '../engine/plan';
import { runPairTask, type PairKeyStats, type PairTask } from '../engine/pairTask';
import { unwrapReply, type ThreadReply } from '../workers/threadReply';
import { workerFile } from '../workers/workerFiles';
import { loadModel } from '../model/loadModel';
import { openCheckpoint } from '../readers/registry';

export interface PairMetrics {
  a: string;
  b: string;
  /** per component: exact float64 sums over the shared equal-shape keys */
  components: Record<string, { l2: number; l1: number; l0: number; max_abs: number; elements: number; cosine: number | null }>;
  keys: (PairKeyStats & { component: string })[];
}

/**
 * The drill-down for one chosen pair: L2, L1, changed-element count (L0) and max |difference| per key and component,
 * by a direct pass over both models (these metrics cannot come from the Gram matrix). Runs in a worker thread
 * unless `inThread` is set.
 */
export async function pairMetrics(
  pathA: string,
  pathB: string,
  opts: { components?: string[] | null; includeEma?: boolean; signal?: AbortSignal; inThread?: boolean; kernels?: 'wasm' | 'reference'; extractWeights?: boolean } = {},
): Promise<PairMetrics> {
  const open = (path: string) => openCheckpoint(path, opts.signal, { extractWeights: opts.extractWeights });
  const checkpoints = [await open(pathA), await open(pathB)];
  // element by element, a LoRA's factors are not its change: its distances come from `compare` (pipeline/loraCompare.ts)
  for (const c of checkpoints) {
    if (looksLikeLora(c)) throw new ModeldiffError('USAGE', 'this is a LoRA: the drill-down reads weights element by element, and a LoRA stores factors of its change, not weights. Its distances to other LoRAs or checkpoints (by its effective delta) come from `modeldiff compare`, per weight in the per-layer table', { file: c.path });
  }
  const models = [loadModel(checkpoints[0]!, 0), loadModel(checkpoints[1]!, 1)];
  throwIfAborted(opts.signal);
  const plan = makePlan(models, { components: opts.components ?? null, includeEma: opts.includeEma ?? true });
  const task: PairTask = {
    kind: 'pair',
    items: plan.units.map((u) => ({ key: plan.keys[u.key]!, a: u.members.ref(0), b: u.members.ref(1) })),
    chunkElements: 1 << 18,
    kernels: opts.kernels ?? 'wasm',
  };
  let keys: PairKeyStats[];
  if (opts.inThread) {
    keys = runPairTask(task, createKernels(task.kernels)).keys;
  } else {
    const pool = new Piscina({ filename: workerFile('engine'), minThreads: 1, maxThreads: 1 });
    try {
      const reply = (await pool.run(task, opts.signal ? { signal: opts.signal } : {}).catch((e: unknown) => {
        if (opts.signal?.aborted) throw cancelled();
        throw e;
      })) as ThreadReply<{ keys: PairKeyStats[] }>;
      keys = unwrapReply(reply).keys;
    } finally {
      await pool.destroy();
    }
  }
  const componentOf = new Map(plan.keys.map((k, i) => [k, plan.keyComponents[i]!]));
  const sums = new Map<string, { l2sq: number; l1: number; l0: number; max: number; elements: number; dot: number; na: number; nb: number }>();
  const withComponent = keys.map((s) => ({ ...s, component: componentOf.get(s.key)! }));
  for (const s of withComponent) {
    if (!Number.isFinite(s.l2sq)) continue;
    const t = sums.get(s.component) ?? { l2sq: 0, l1: 0, l0: 0, max: 0, elements: 0, dot: 0, na: 0, nb: 0 };
    t.l2sq += s.l2sq;
    t.l1 += s.l1;
    t.l0 += s.l0;
    t.max = Math.max(t.max, s.maxAbs);
    t.elements += s.elements;
    t.dot += s.dot;
    t.na += s.na;
    t.nb += s.nb;
    sums.set(s.component, t);
  }
  const components: PairMetrics['components'] = {};
  for (const c of plan.components) {
    const t = sums.get(c);
    if (!t) continue;
    components[c] = { l2: Math.sqrt(t.l2sq), l1: t.l1, l0: t.l0, max_abs: t.max, elements: t.elements, cosine: t.na > 0 && t.nb > 0 ? t.dot / Math.sqrt(t.na * t.nb) : null };
  }
  return { a: pathA, b: pathB, components, keys: withComponent };
}
