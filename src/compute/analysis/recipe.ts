/**
 * Merge-recipe estimates from pairwise squared distances only: no model file is read again.
 *
 * Geometry. For a model M and parents P_0..P_{k-1}, with D_ij = ||P_i - P_j||^2 and m_i = ||M - P_i||^2 summed over
 * a group of keys (a merge block), the inner products of differences follow from the polarisation identity:
 *   <M - P_r, P_i - P_r>    = (m_r + D_ri - m_i) / 2
 *   <P_i - P_r, P_j - P_r>  = (D_ri + D_rj - D_ij) / 2
 * Two parents A, B: the least-squares w in M ~ (1 - w) A + w B is
 *   w = <M - A, B - A> / ||B - A||^2 = (m_A + D_AB - m_B) / (2 D_AB)
 * and the residual is ||M - A - w (B - A)||^2 = m_A - 2 w <M-A, B-A> + w^2 D_AB = m_A - w^2 D_AB.
 * k parents, weights summing to 1: for any w with sum 1,
 *   ||M - sum_i w_i P_i||^2 = sum_i w_i m_i - 1/2 sum_ij w_i w_j D_ij,
 * a convex quadratic on the simplex (-D/2 is positive semidefinite on sum-zero vectors for Euclidean D).
 * The non-negative fit (w_i >= 0, sum 1) is found exactly by trying every support S: on S the affine least-squares
 * solution (reference P_r = first of S, Gram G_ij = <P_i - P_r, P_j - P_r>, right side c_i = <M - P_r, P_i - P_r>,
 * v = G^-1 c, w_r = 1 - sum v) is kept when all its weights are >= 0, and the feasible one with the least residual
 * wins. A support whose Gram is singular is skipped: a smaller support spans the same points (Caratheodory).
 * With k <= 12 that is at most 4095 small solves.
 */
import { ModeldiffError } from '../../shared/errors';
import { pairIndex, primaryComponent, type CompareResult } from '../../shared/result';
import { COMPONENT_SLOTS, DEFAULT_TIME_EMBED, makeScheme, orderLabels, unetLayoutOf, type BlockNaming, type TimeEmbedPlacement } from './groups';
import { openSource, withLayers, type ResultSource } from './layers';
import { RECIPE_FIT_MAX_REL_RESIDUAL, type MixtureFit, type RecipeEstimate } from '../../shared/analysis';
import { choleskySolve } from '../math/choleskySolve';

export const MAX_PARENTS = 12;


/** Cholesky solve of a small symmetric positive definite system; null when a pivot is not clearly positive. */
function solveSpd(G: number[][], c: number[]): number[] | null {
  const n = c.length;
  if (n === 0) return [];
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(G[i]![i]!));
  if (!(scale > 0)) return null;
  const tol = scale * 1e-10;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > tol)) return null;
        L[i]![i] = Math.sqrt(s);
      } else L[i]![j] = s / L[j]![j]!;
    }
  }
  return choleskySolve(L, c);
}

/** ||M - sum w_i P_i||^2 for weights summing to 1, from squared distances (clamped at 0 against rounding). */
export function mixtureResidual2(w: readonly number[], m: readonly number[], D: readonly (readonly number[])[]): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i]! * m[i]!;
    for (let j = 0; j < w.length; j++) s -= 0.5 * w[i]! * w[j]! * D[i]![j]!;
  }
  return Math.max(0, s);
}

/** Affine least squares on the parents in `support`; weights over all k parents (0 outside), or null if singular. */
function affineFit(support: readonly number[], m: readonly number[], D: readonly (readonly number[])[], k: number): number[] | null {
  const r = support[0]!;
  const others = support.slice(1);
  const G = others.map((i) => others.map((j) => (D[r]![i]! + D[r]![j]! - D[i]![j]!) / 2));
  const c = others.map((i) => (m[r]! + D[r]![i]! - m[i]!) / 2);
  const v = solveSpd(G, c);
  if (!v) return null;
  const w = new Array<number>(k).fill(0);
  let sum = 0;
  others.forEach((i, t) => {
    w[i] = v[t]!;
    sum += v[t]!;
  });
  w[r] = 1 - sum;
  return w;
}

/**
 * Fits M ~ sum w_i P_i from m_i = ||M - P_i||^2 and D_ij = ||P_i - P_j||^2 (pure). `group` and `keys` are carried
 * into the result.
 */
export function fitMixture(m: readonly number[], D: readonly (readonly number[])[], group = '', keys = 0): MixtureFit {
  const k = m.length;
  if (k === 0) throw new ModeldiffError('USAGE', 'a merge needs at least one parent');
  if (k > MAX_PARENTS) throw new ModeldiffError('USAGE', `at most ${MAX_PARENTS} parents`);
  const distances = m.map((x) => Math.sqrt(Math.max(0, x)));
  const all = Array.from({ length: k }, (_, i) => i);
  const free = k === 1 ? [1] : affineFit(all, m, D, k);

  let best: number[] | null = null;
  let bestRes = Infinity;
  let bestSize = Infinity;
  for (let mask = 1; mask < 1 << k; mask++) {
    const support = all.filter((i) => mask & (1 << i));
    const w = support.length === 1 ? all.map((i) => (i === support[0] ? 1 : 0)) : affineFit(support, m, D, k);
    if (!w) continue;
    if (support.some((i) => w[i]! < -1e-9)) continue;
    for (let i = 0; i < k; i++) w[i] = Math.max(0, w[i]!);
    const s = w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < k; i++) w[i] = w[i]! / s;
    const res = mixtureResidual2(w, m, D);
    const scale = Math.max(1e-300, ...m);
    if (res < bestRes - 1e-12 * scale || (Math.abs(res - bestRes) <= 1e-12 * scale && support.length < bestSize)) {
      best = w;
      bestRes = res;
      bestSize = support.length;
    }
  }
  const weights = best!;
  const residual = Math.sqrt(bestRes);
  const minDist = Math.min(...distances);
  return {
    group,
    keys,
    weights,
    free,
    residual,
    relResidual: minDist > 0 ? residual / minDist : 0,
    freeResidual: free ? Math.sqrt(mixtureResidual2(free, m, D)) : null,
    distances,
    identifiable: free !== null,
  };
}

/** The closed form for two parents: w (weight of B) and the residual, from the three squared distances. */
export function fitTwo(mA: number, mB: number, dAB: number): { w: number | null; residual2: number } {
  if (!(dAB > 0)) return { w: null, residual2: mA };
  const w = (mA + dAB - mB) / (2 * dAB);
  return { w, residual2: Math.max(0, mA - w * w * dAB) };
}

/** ||x_i - x_j||^2 of a component from result.json, or null when not comparable (0 on the diagonal). */
export function componentD2(result: CompareResult, i: number, j: number, component: string): number | null {
  if (i === j) return 0;
  const l2 = result.pairs[pairIndex(i, j, result.models.length)]?.components[component]?.l2;
  return l2 === null || l2 === undefined ? null : l2 * l2;
}

export interface ChooseParentsOptions {
  /** how many parents (default 2) */
  count?: number;
  /** how many of the nearest models are tried (default 6) */
  pool?: number;
  component?: string;
}

/**
 * Parents for a model when the user names none: among its `pool` nearest models by component L2 (exact copies left
 * out), the `count` that explain it best (least relative residual of the component-level fit).
 */
export interface Copy {
  model: number;
  /** as result.json says: bit-identical, equal values, or changed yet at distance 0 (NaN/Inf left out of the distance) */
  how: 'identical' | 'equal_values' | 'zero_distance';
}

/** What a note says about a copy left out of the parents. */
const componentWord = (component: string): string => (component === 'unet' ? 'UNet' : component);

export function copyNote(result: CompareResult, self: number, c: Copy, component = 'unet'): string {
  const file = result.models[c.model]!.file;
  if (c.how === 'identical') return `the ${componentWord(component)} is bit-identical to that of ${file} (left out of the parents)`;
  if (c.how === 'equal_values') return `the ${componentWord(component)} holds the same values as that of ${file}, not bit-identical (left out of the parents)`;
  const d = result.pairs[pairIndex(self, c.model, result.models.length)]?.components[component];
  const left = d?.non_finite ? ` (${d.non_finite} ${d.non_finite === 1 ? 'key' : 'keys'} with NaN/Inf left out)` : '';
  return `the ${componentWord(component)} is at L2 0 from that of ${file} on the comparable keys${left}, yet not equal (left out of the parents)`;
}

export function chooseParents(result: CompareResult, model: number, opts: ChooseParentsOptions = {}): { parents: number[]; candidates: NonNullable<RecipeEstimate['candidates']>; copies: Copy[] } {
  const count = opts.count ?? 2;
  const poolSize = Math.max(count, opts.pool ?? 6);
  const c = opts.component ?? diffusionComponent(result, model);
  const n = result.models.length;
  const near: { i: number; d2: number }[] = [];
  const copies: Copy[] = [];
  for (let i = 0; i < n; i++) {
    if (i === model) continue;
    const status = result.pairs[pairIndex(model, i, n)]?.components[c]?.status;
    if (status === 'identical' || status === 'equal_values') {
      copies.push({ model: i, how: status });
      continue;
    }
    const d2 = componentD2(result, model, i, c);
    if (d2 === null) continue;
    // at 0 on the comparable keys: as good as a copy for the geometry (a parent there makes the fit degenerate)
    if (d2 === 0) copies.push({ model: i, how: 'zero_distance' });
    else near.push({ i, d2 });
  }
  near.sort((x, y) => x.d2 - y.d2 || x.i - y.i);
  const pool: number[] = [];
  for (const { i } of near) {
    if (pool.length >= poolSize) break;
    if (pool.some((j) => componentD2(result, i, j, c) === 0)) continue; // a copy (in value) of a candidate already in the pool
    pool.push(i);
  }
  const candidates: NonNullable<RecipeEstimate['candidates']> = [];
  const k = Math.min(count, pool.length);
  if (k === 0) return { parents: [], candidates, copies };
  const combo = (start: number, chosen: number[]): void => {
    if (chosen.length === k) {
      const m = chosen.map((i) => componentD2(result, model, i, c)!);
      const D: number[][] = [];
      for (const i of chosen) {
        const row: number[] = [];
        for (const j of chosen) {
          const d = componentD2(result, i, j, c);
          if (d === null) return;
          row.push(d);
        }
        D.push(row);
      }
      const fit = fitMixture(m, D);
      candidates.push({ parents: chosen.slice(), relResidual: fit.relResidual, weights: fit.weights });
      return;
    }
    for (let t = start; t < pool.length; t++) combo(t + 1, [...chosen, pool[t]!]);
  };
  combo(0, []);
  const sumDist = (ps: number[]) => ps.reduce((s, i) => s + componentD2(result, model, i, c)!, 0);
  candidates.sort((x, y) => x.relResidual - y.relResidual || sumDist(x.parents) - sumDist(y.parents));
  return { parents: candidates[0]?.parents ?? pool.slice(0, 1), candidates: candidates.slice(0, 5), copies };
}

/** The diffusion-model component of a model (`unet` or `transformer`), `unet` when it has neither. */
function diffusionComponent(result: CompareResult, model: number): string {
  const own = Object.keys(result.models[model]?.components ?? {});
  const c = primaryComponent(own);
  return c === 'unet' || c === 'transformer' ? c : 'unet';
}

export interface RecipeOptions {
  /** parents by model index; default: chosen by chooseParents */
  parents?: number[];
  parentsFrom?: RecipeEstimate['parentsFrom'];
  timeEmbed?: TimeEmbedPlacement;
  /** with automatic parents: how many (default 2) and from how many nearest models (default 6) */
  count?: number;
  pool?: number;
  /** transformer block names: ComfyUI's (default) or SuperMerger's */
  blockNames?: BlockNaming;
}

/** Per-group sums of squared distances for the pairs among `models`, keeping only keys valued in every pair. */
function groupSquares(src: ResultSource, models: number[], groupOf: (k: number) => string | null): Map<string, { keys: number; d2: number[][] }> {
  const { result } = src;
  const n = result.models.length;
  const t = models.length;
  const pairOf: number[][] = models.map((i) => models.map((j) => (i === j ? -1 : pairIndex(i, j, n))));
  const pairList: number[] = [];
  const colOf = new Map<number, number>();
  for (let x = 0; x < t; x++)
    for (let y = x + 1; y < t; y++) {
      const p = pairOf[x]![y]!;
      if (!colOf.has(p)) {
        colOf.set(p, pairList.length);
        pairList.push(p);
      }
    }
  const cols = withLayers(src, (r) => r.readColumns(0, pairList));
  const out = new Map<string, { keys: number; d2: number[][] }>();
  const K = result.layers.keys.length;
  for (let k = 0; k < K; k++) {
    const g = groupOf(k);
    if (g === null) continue;
    let ok = true;
    for (const col of cols) if (Number.isNaN(col[k]!)) ok = false;
    if (!ok) continue;
    let s = out.get(g);
    if (!s) out.set(g, (s = { keys: 0, d2: Array.from({ length: t }, () => new Array<number>(t).fill(0)) }));
    s.keys++;
    for (let x = 0; x < t; x++)
      for (let y = x + 1; y < t; y++) {
        const v = cols[colOf.get(pairOf[x]![y]!)!]![k]!;
        s.d2[x]![y]! += v * v;
        s.d2[y]![x]! += v * v;
      }
  }
  return out;
}

/**
 * Estimates how `model` was merged from its parents, per merge block of the diffusion model (UNet or transformer), for
 * the whole diffusion model, and per text
 * encoder / VAE, from layers.bin. Index 0 of every squared-distance table is the model, 1.. the parents.
 */
export function estimateRecipe(source: string | ResultSource, model: number, opts: RecipeOptions = {}): RecipeEstimate {
  const src = openSource(source);
  const { result } = src;
  const n = result.models.length;
  if (model < 0 || model >= n) throw new ModeldiffError('USAGE', `no model ${model} in this result`);
  const notes: string[] = [];
  const dmComponent = diffusionComponent(result, model);
  const dmName = dmComponent === 'transformer' ? 'transformer' : 'UNet';
  let parents = opts.parents;
  let parentsFrom: RecipeEstimate['parentsFrom'] = opts.parentsFrom ?? 'user';
  let candidates: RecipeEstimate['candidates'];
  if (!parents) {
    const chosen = chooseParents(result, model, { count: opts.count ?? 2, pool: opts.pool ?? 6, component: dmComponent });
    parents = chosen.parents;
    candidates = chosen.candidates;
    parentsFrom = 'nearest';
    for (const c of chosen.copies) notes.push(copyNote(result, model, c, dmComponent));
    if (parents.length === 0) notes.push(`no other model has a comparable ${dmName}`);
  }
  parents = [...new Set(parents)];
  if (parents.includes(model)) throw new ModeldiffError('USAGE', 'a model cannot be its own parent');
  if (parents.length > MAX_PARENTS) throw new ModeldiffError('USAGE', `at most ${MAX_PARENTS} parents`);
  for (const p of parents) if (p < 0 || p >= n) throw new ModeldiffError('USAGE', `no model ${p} in this result`);

  const timeEmbed = opts.timeEmbed ?? DEFAULT_TIME_EMBED;
  const layout = unetLayoutOf(result.models[model]!.arch);
  const scheme = makeScheme('block', { timeEmbed, layout, otherComponents: true, blockNames: opts.blockNames });
  const base: RecipeEstimate = {
    model,
    file: result.models[model]!.file,
    parents: parents.map((p) => ({ model: p, file: result.models[p]!.file })),
    parentsFrom,
    description: scheme.description,
    timeEmbed,
    layout,
    overall: null,
    blocks: [],
    components: [],
    notes,
  };
  if (candidates) base.candidates = candidates;
  if (parents.length === 0) return base;

  const models = [model, ...parents];
  const keys = result.layers.keys;
  const comps = result.layers.keyComponents;
  const sums = groupSquares(src, models, (k) => scheme.groupOf(keys[k]!, comps[k]!));
  const componentSlots = COMPONENT_SLOTS;
  // the whole diffusion model: every one of its keys is in exactly one block slot
  let unetSum: { keys: number; d2: number[][] } | undefined;
  for (const [g, s] of sums) {
    if (componentSlots.has(g)) continue;
    if (!unetSum) unetSum = { keys: 0, d2: models.map(() => new Array<number>(models.length).fill(0)) };
    unetSum.keys += s.keys;
    s.d2.forEach((row, x) => row.forEach((v, y) => (unetSum!.d2[x]![y]! += v)));
  }

  const fitOf = (group: string, s: { keys: number; d2: number[][] }): MixtureFit => {
    const m = parents!.map((_, i) => s.d2[0]![i + 1]!);
    const D = parents!.map((_, i) => parents!.map((__, j) => s.d2[i + 1]![j + 1]!));
    return fitMixture(m, D, group, s.keys);
  };
  if (unetSum) base.overall = fitOf(dmComponent === 'transformer' ? 'TRANSFORMER' : 'UNET', unetSum);
  else notes.push(`no ${dmName} key has a value for every pair among the model and its parents`);
  for (const g of orderLabels(scheme, sums.keys())) {
    const fit = fitOf(g, sums.get(g)!);
    (componentSlots.has(g) ? base.components : base.blocks).push(fit);
  }
  const poor = base.overall && base.overall.relResidual > RECIPE_FIT_MAX_REL_RESIDUAL;
  if (poor) notes.push(`the ${dmName} is poorly explained as a mix of these parents (relative residual ${base.overall!.relResidual.toFixed(3)}, above ${RECIPE_FIT_MAX_REL_RESIDUAL})`);
  return base;
}
