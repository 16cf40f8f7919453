/**
 * Which LoRAs, at what strengths, were merged into a checkpoint: with D = checkpoint - base on the LoRAs' target
 * weights, the strengths s minimise ||D - sum_i s_i dW_i||^2 (non-negative by default). Everything comes from inner
 * products: G_ij = <dW_i, dW_j> and b_i = <dW_i, D> summed over keys, ||D||^2; the residual from the expansion
 * ||D||^2 - 2 bᵀs + sᵀGs is checked against its rounding bound and, when the LoRAs explain almost all of D
 * (cancellation), recomputed directly from D and the deltas.
 */
import { basename } from 'node:path';
import type { Checkpoint, TensorRef } from '../model/checkpoint';
import { ModeldiffError } from '../../shared/errors';
import { loadModel } from '../model/loadModel';
import { targetDelta } from './deltas';
import { differenceRows, residualDirect } from './dense';
import { FileHandles } from './io';
import type { KeySpace } from './keySpace';
import { leastSquares, nonNegativeLeastSquares, residualSquared } from './nnls';
import { forEachKeyPairs, type KeyPairs, type PairwiseOptions } from './pairwise';
import type { LoraModel, LoraTarget } from './types';

/** The expanded residual is used when its rounding bound is at most this share of it. */
const RESIDUAL_TRUST = 1e-8;

export interface AttributeOptions extends Omit<PairwiseOptions, 'against'> {
  /** Allow negative strengths (default false: strengths >= 0). */
  allowNegative?: boolean;
}

export interface FitSummary {
  /** Strength of each LoRA, in the order given. */
  strengths: number[];
  /** ||D - sum s_i dW_i|| / ||D|| over the keys used. */
  relResidual: number;
  /** Share of ||D||^2 the fit explains: 1 - residual^2 / ||D||^2. */
  explained: number;
  /** How the residual was obtained: from inner products, or recomputed from the weights (cancellation). */
  residualFrom: 'expansion' | 'direct';
}

export interface Attribution extends FitSummary {
  checkpoint: string;
  base: string;
  loras: { file: string; strength: number; /** a combination of the other LoRAs here (a duplicate...): kept at 0 */ dependent: boolean; keys: number }[];
  /** ||D|| over the keys used. */
  normD: number;
  keys: number;
  /** The same fit per component (unet, te...), each on that component's keys alone. */
  components: ({ component: string; keys: number } & FitSummary)[];
  notes: string[];
}

interface KeyRecord {
  key: string;
  component: string;
  members: number[];
  mag: Float64Array;
  normD: number;
  factor: number;
}

/**
 * Attributes (checkpoint - base) to the LoRAs. `space` must be the base's key space (baseKeySpace) and every model
 * read in it (readLora with { space }).
 */
export function attributeLoras(checkpoint: Checkpoint, space: KeySpace, models: readonly LoraModel[], opts: AttributeOptions = {}): Attribution {
  if (!space.base) throw new ModeldiffError('USAGE', 'attribution needs a base model');
  const base = space.base;
  const k = models.length;
  if (k === 0) throw new ModeldiffError('USAGE', 'no LoRA to attribute');
  const notes: string[] = [];
  const ckpt = new Map<string, TensorRef>();
  for (const [key, { ref }] of loadModel(checkpoint, 0).tensors) ckpt.set(key, ref);

  // Keys every LoRA target is also in the checkpoint with the base's shape; others are left out, with a note.
  const usable = new Set<string>();
  const skipped: string[] = [];
  for (const m of models) {
    for (const t of m.targets) {
      if (usable.has(t.key) || skipped.includes(t.key)) continue;
      const c = ckpt.get(t.key);
      const b = base.tensors.get(t.key);
      if (c && b && c.shape.join(',') === b.shape.join(',')) usable.add(t.key);
      else skipped.push(t.key);
    }
  }
  if (skipped.length) notes.push(`${skipped.length} LoRA target(s) are missing from the checkpoint or shaped differently there, and are left out (first: ${skipped[0]})`);
  const restricted = models.map((m) => ({ ...m, targets: m.targets.filter((t) => usable.has(t.key)) }));

  const G = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  let norm2D = 0;
  const byComponent = new Map<string, { keys: number; G: number[][]; b: number[]; norm2D: number }>();
  const records: KeyRecord[] = [];
  const keysPerLora = new Array<number>(k).fill(0);

  const onKey = (p: KeyPairs) => {
    const a = p.against!;
    let comp = byComponent.get(p.component);
    if (!comp) byComponent.set(p.component, (comp = { keys: 0, G: Array.from({ length: k }, () => new Array<number>(k).fill(0)), b: new Array<number>(k).fill(0), norm2D: 0 }));
    comp.keys++;
    const m = p.members.length;
    for (const sums of [{ G, b }, comp]) {
      for (let x = 0; x < m; x++) {
        const i = p.members[x]!;
        sums.G[i]![i] += p.norm2[x]!;
        sums.b[i] += a.dot[x]!;
        for (let y = x + 1; y < m; y++) {
          const j = p.members[y]!;
          sums.G[i]![j] += p.dot[x * m + y]!;
          sums.G[j]![i] += p.dot[x * m + y]!;
        }
      }
    }
    norm2D += a.norm2;
    comp.norm2D += a.norm2;
    for (const i of p.members) keysPerLora[i]++;
    records.push({ key: p.key, component: p.component, members: p.members, mag: p.mag, normD: Math.sqrt(a.norm2), factor: p.boundFactor });
  };
  forEachKeyPairs(restricted, onKey, {
    ...opts,
    against: (key, files) => differenceRows(key, ckpt.get(key)!, base.tensors.get(key)!, files),
  });
  if (records.length === 0) throw new ModeldiffError('USAGE', 'none of the LoRAs changes a weight that the checkpoint and the base both have');

  const solve = (GG: number[][], bb: number[]) => (opts.allowNegative ? leastSquares(GG, bb) : nonNegativeLeastSquares(GG, bb));
  const overall = solve(G, b);
  const compFits = [...byComponent].sort(([x], [y]) => (x < y ? -1 : 1)).map(([component, c]) => ({ component, c, fit: solve(c.G, c.b) }));

  // Residuals: from the expansion when its rounding bound allows, else directly from the weights.
  const boundFor = (x: number[], component?: string) => {
    let s = 0;
    for (const r of records) {
      if (component !== undefined && r.component !== component) continue;
      let t = r.normD;
      r.members.forEach((i, idx) => (t += Math.abs(x[i]!) * r.mag[idx]!));
      s += r.factor * t * t;
    }
    return s;
  };
  const summaries: { x: number[]; norm2D: number; res2: number; from: 'expansion' | 'direct'; component?: string }[] = [
    { x: overall.x, norm2D, res2: residualSquared(norm2D, G, b, overall.x), from: 'expansion' },
    ...compFits.map(({ component, c, fit }) => ({ x: fit.x, norm2D: c.norm2D, res2: residualSquared(c.norm2D, c.G, c.b, fit.x), from: 'expansion' as const, component })),
  ];
  const redo = summaries.filter((s) => !(s.res2 > 0 && boundFor(s.x, s.component) <= RESIDUAL_TRUST * s.res2));
  if (redo.length) directResiduals(restricted, records, redo, ckpt, base.tensors, opts.identities);

  const summary = (s: (typeof summaries)[number]): FitSummary => ({
    strengths: s.x,
    relResidual: s.norm2D > 0 ? Math.sqrt(Math.max(0, s.res2) / s.norm2D) : 0,
    explained: s.norm2D > 0 ? 1 - Math.max(0, s.res2) / s.norm2D : 0,
    residualFrom: s.from,
  });
  for (const m of models) {
    if (m.modules.some((x) => x.doraScale)) notes.push(`${basename(m.file)} has DoRA modules, whose change is not proportional to the strength: its strength scales the change it makes at strength 1`);
  }
  for (let i = 0; i < k; i++) if (overall.dependent[i]) notes.push(`${basename(models[i]!.file)} changes the weights as a combination of the other LoRAs (a duplicate?): its strength is not identifiable and is reported as 0`);
  return {
    checkpoint: checkpoint.path,
    base: base.path,
    ...summary(summaries[0]!),
    loras: models.map((m, i) => ({ file: m.file, strength: overall.x[i]!, dependent: overall.dependent[i]!, keys: keysPerLora[i]! })),
    normD: Math.sqrt(norm2D),
    keys: records.length,
    components: compFits.map(({ component, c }, idx) => ({ component, keys: c.keys, ...summary(summaries[idx + 1]!) })),
    notes,
  };
}

/** ||D - sum s_i dW_i||^2 recomputed key by key for the fits whose expanded residual cannot be trusted. */
function directResiduals(
  models: readonly LoraModel[],
  records: KeyRecord[],
  redo: { x: number[]; res2: number; from: 'expansion' | 'direct'; component?: string }[],
  ckpt: Map<string, TensorRef>,
  base: ReadonlyMap<string, TensorRef>,
  identities: PairwiseOptions['identities'],
): void {
  for (const r of redo) {
    r.res2 = 0;
    r.from = 'direct';
  }
  const files = new FileHandles(identities);
  try {
    for (const rec of records) {
      const fits = redo.filter((r) => r.component === undefined || r.component === rec.component);
      if (!fits.length) continue;
      const D = differenceRows(rec.key, ckpt.get(rec.key)!, base.get(rec.key)!, files);
      const used = rec.members.filter((i) => fits.some((f) => f.x[i] !== 0));
      const deltas = used.map((i) => targetDelta(models[i]!, models[i]!.targets.find((t: LoraTarget) => t.key === rec.key)!, files));
      for (const f of fits) f.res2 += residualDirect(deltas, used.map((i) => f.x[i]!), D);
    }
    files.verify();
  } finally {
    files.closeAll();
  }
}
