/**
 * All pairs of N LoRAs, key by key: squared norms, inner products and squared distances of their deltas on every
 * target weight any of them changes. Memory stays bounded: a key's members are loaded in blocks that fit the budget;
 * the low-rank parts of two blocks meet in two stacked Gram products (Ut_I Ut_Jᵀ and V_I V_Jᵀ, one multiply over
 * rows and one over columns for every pair at once), then each pair's inner product is the sum of its R_i x R_j
 * sub-block of their elementwise product.
 */
import { throwIfAborted, toModeldiffError, type ModeldiffError } from '../../shared/errors';
import { targetDelta, type KeyDelta } from './deltas';
import { FileHandles } from './io';
import type { FileIdentity } from '../io/regularFile';
import { innerWithRows, residualDirect, type DenseRows } from './dense';
import { deltaRows, innerBoundFactor, innerDenseParts, pairStats, sameToRounding, selfStats, TRUST, type SelfStats } from './inner';
import { dot, ROW_PRODUCT_CHUNK, rowProducts } from './linalg';
import { flat2 } from './parse';
import type { LoraModel, LoraTarget } from './types';

export interface KeyPairs {
  key: string;
  component: string;
  /** Indices (into the models) of the LoRAs that change this key; the others have a zero delta here. */
  members: number[];
  /** ||dW_i||^2 per member. */
  norm2: Float64Array;
  /** m x m, upper triangle (i < j): <dW_i, dW_j>. */
  dot: Float64Array;
  /** m x m, upper triangle (i < j): ||dW_i - dW_j||^2. */
  d2: Float64Array;
  /** m x m, upper triangle: 1 when the two deltas are equal to float rounding. */
  same: Uint8Array;
  /** Pairs whose distance was recomputed directly (near-duplicates). */
  direct: number;
  /** How the inner products were made: from dense rows or from the low-rank factors (whichever is cheaper), in how many block pairs. */
  gram: { path: 'dense' | 'low-rank'; blockPairs: number };
  /** Magnitude of each member's delta (bounds its rounding errors; see inner.ts). */
  mag: Float64Array;
  /**
   * The largest rounding-bound factor used on this key: every norm, inner product (and <dW, D>, ||D||^2) is off by
   * at most boundFactor times the product of the two magnitudes (||D|| for D).
   */
  boundFactor: number;
  /**
   * LoRAs that change this key as a weight of another shape (trained for another family): not comparable with the
   * members here. They come in a KeyPairs of their own for the same key.
   */
  incomparable: number[];
  /** Against a dense difference D on this key (when one was given): ||D||^2, <dW_i, D>, ||dW_i - D||^2. */
  against?: AgainstStats;
  /** Against each of several differences (PairwiseOptions.againstEach), in their order; undefined where shapes differ. */
  againstEach?: (AgainstStats | undefined)[];
}

/** Deltas of a key against one dense difference D: ||D||^2, <dW_i, D>, ||dW_i - D||^2 per member. */
export interface AgainstStats {
  norm2: number;
  dot: Float64Array;
  d2: Float64Array;
  /** members whose distance to D was recomputed directly (near-equal: cancellation) */
  direct: number;
}

export interface PairwiseOptions {
  /** Bound on the float64 factor buffers held at once (default 256 MiB). */
  budgetBytes?: number;
  /** A dense difference to measure every delta of a key against (e.g. checkpoint - base), or undefined for none. */
  against?: (key: string, files: FileHandles) => DenseRows | undefined;
  /** Several dense differences at once (e.g. each checkpoint - base); a key's deltas are loaded once for all of them. */
  againstEach?: (key: string, files: FileHandles) => (DenseRows | undefined)[];
  signal?: AbortSignal;
  /**
   * The version of each file its header was read from (path -> identity): a file is checked when it is first opened
   * and again when every key is done, and one rewritten, replaced or deleted in between fails as FILE_CHANGED (a
   * LoRA's through onModelError, any other file's thrown).
   */
  identities?: Readonly<Record<string, FileIdentity>>;
  onProgress?: (p: { keysDone: number; keysTotal: number; key: string }) => void;
  /**
   * A LoRA whose factors turn out unreadable or non-finite while its deltas are read: it is reported here and left
   * out of every later key (results already delivered that include it must be discarded by the caller). Without
   * this callback the error is thrown.
   */
  onModelError?: (model: number, error: ModeldiffError) => void;
}

/** The default bound on a LoRA run's factor buffers held at once, in MiB (compare on LoRAs, attribute). */
export const DEFAULT_FACTOR_BUDGET_MIB = 256;

/** Rank rows stacked in one Gram block at most (the R_I x R_J products of two blocks are then <= 16 MiB). */
const MAX_BLOCK_RANK = 1024;

/**
 * Calls onKey for every target key of any of the models, in key order (once per shape the key is changed as).
 * Models should share one key space (one family, one base).
 */
export function forEachKeyPairs(models: readonly LoraModel[], onKey: (k: KeyPairs) => void, opts: PairwiseOptions = {}): void {
  const budget = opts.budgetBytes ?? DEFAULT_FACTOR_BUDGET_MIB * 2 ** 20;
  const byKey = new Map<string, { model: number; target: LoraTarget }[]>();
  models.forEach((m, i) => {
    for (const t of m.targets) {
      let list = byKey.get(t.key);
      if (!list) byKey.set(t.key, (list = []));
      list.push({ model: i, target: t });
    }
  });
  const keys = [...byKey.keys()].sort();
  const files = new FileHandles(opts.identities);
  const failed = new Set<number>();
  try {
    keys.forEach((key, done) => {
      throwIfAborted(opts.signal);
      for (;;) {
        const entries = byKey.get(key)!.filter((e) => !failed.has(e.model));
        if (entries.length === 0) break;
        try {
          const D = opts.against?.(key, files);
          const Ds = opts.againstEach?.(key, files);
          // LoRAs that change the key as weights of different shapes (different families) are not comparable there
          const shapes = new Map<string, { model: number; target: LoraTarget }[]>();
          for (const e of entries) {
            const s = flat2(e.target.shape).join('x');
            let list = shapes.get(s);
            if (!list) shapes.set(s, (list = []));
            list.push(e);
          }
          const results = [...shapes.values()].map((group) => {
            const others = entries.filter((e) => !group.includes(e)).map((e) => e.model);
            const [rows, cols] = flat2(group[0]!.target.shape);
            const fits = (d: DenseRows | undefined) => (d && d.rows === rows && d.cols === cols ? d : undefined);
            return keyPairs(models, key, group, files, budget, opts.signal, fits(D), others, Ds?.map(fits));
          });
          results.forEach(onKey);
          break;
        } catch (e) {
          if (!(e instanceof MemberError)) throw e;
          if (!opts.onModelError) throw e.error;
          failed.add(e.model);
          opts.onModelError(e.model, e.error);
        }
      }
      opts.onProgress?.({ keysDone: done + 1, keysTotal: keys.length, key });
    });
    // every read done: the files read are still the versions the headers were read from
    for (;;) {
      try {
        files.verify();
        break;
      } catch (e) {
        const err = toModeldiffError(e);
        const model = err.code === 'FILE_CHANGED' ? models.findIndex((m, i) => !failed.has(i) && readsFrom(m, err.file)) : -1;
        if (model < 0 || !opts.onModelError) throw err;
        failed.add(model);
        files.forget(err.file!);
        opts.onModelError(model, err);
      }
    }
  } finally {
    files.closeAll();
  }
}

/** Whether a LoRA's factors are read from `file`. */
function readsFrom(m: LoraModel, file: string | undefined): boolean {
  return file !== undefined && (m.file === file || m.modules.some((x) => Object.values(x.factors).some((f) => f?.file === file)));
}

/** A failure reading one member's delta, carried up to forEachKeyPairs with the model it belongs to. */
class MemberError extends Error {
  constructor(
    readonly model: number,
    readonly error: ModeldiffError,
  ) {
    super(error.message);
  }
}

interface Loaded {
  delta: KeyDelta;
  stats: SelfStats;
}

/** The pairs among LoRAs that change `key` as weights of one shape (`others` change it with another shape). */
function keyPairs(
  models: readonly LoraModel[],
  key: string,
  entries: { model: number; target: LoraTarget }[],
  files: FileHandles,
  budget: number,
  signal: AbortSignal | undefined,
  D: DenseRows | undefined,
  others: number[],
  Ds?: (DenseRows | undefined)[],
): KeyPairs {
  const m = entries.length;
  const [rows, cols] = flat2(entries[0]!.target.shape);
  const out: KeyPairs = {
    key,
    component: entries[0]!.target.component,
    members: entries.map((e) => e.model),
    norm2: new Float64Array(m),
    dot: new Float64Array(m * m),
    d2: new Float64Array(m * m),
    same: new Uint8Array(m * m),
    direct: 0,
    gram: { path: 'low-rank', blockPairs: 0 },
    mag: new Float64Array(m),
    boundFactor: 0,
    incomparable: others,
  };
  if (D) {
    if (D.rows !== rows || D.cols !== cols) throw new Error(`${key}: the difference is ${D.rows} x ${D.cols}, the LoRAs change ${rows} x ${cols}`);
    out.against = emptyAgainst(m);
  }
  if (Ds) out.againstEach = Ds.map((d) => (d ? emptyAgainst(m) : undefined));
  const ranks = entries.map((e) => estimateRank(models[e.model]!, e.target, rows, cols));
  const dense = preferDense(ranks, rows, cols);
  out.gram.path = dense ? 'dense' : 'low-rank';
  const blocks = partition(
    entries.map((e) => estimateBytes(models[e.model]!, e.target, rows, cols)),
    ranks,
    budget,
    dense ? Infinity : MAX_BLOCK_RANK,
  );
  const load = (block: number[]): Loaded[] =>
    block.map((i) => {
      const e = entries[i]!;
      let delta: KeyDelta;
      try {
        delta = targetDelta(models[e.model]!, e.target, files);
      } catch (err) {
        throw new MemberError(e.model, toModeldiffError(err, models[e.model]!.file));
      }
      return { delta, stats: selfStats(delta) };
    });
  for (let bi = 0; bi < blocks.length; bi++) {
    throwIfAborted(signal);
    const I = blocks[bi]!;
    const A = load(I);
    A.forEach((x, k) => {
      out.norm2[I[k]!] = x.stats.norm2;
      out.mag[I[k]!] = x.stats.mag;
      out.boundFactor = Math.max(out.boundFactor, innerBoundFactor(x.delta, x.delta), againstBoundFactor(x.delta));
    });
    if (D) againstBlock(out.against!, I, A, D);
    Ds?.forEach((d, c) => d && againstBlock(out.againstEach![c]!, I, A, d));
    blockPairs(out, I, A, I, A, true, dense);
    for (let bj = bi + 1; bj < blocks.length; bj++) {
      throwIfAborted(signal);
      const J = blocks[bj]!;
      blockPairs(out, I, A, J, load(J), false, dense);
    }
  }
  return out;
}

/** <dW_i, D> and ||dW_i - D||^2 for one block (D is read once per block), with the cancellation guard of inner.ts. */
function againstBlock(o: AgainstStats, I: number[], A: Loaded[], D: DenseRows): void {
  const got = innerWithRows(A.map((a) => a.delta), D);
  o.norm2 = got.norm2;
  const normD = Math.sqrt(got.norm2);
  A.forEach((a, k) => {
    const i = I[k]!;
    const g = got.dots[k]!;
    const x = a.delta;
    const bound = a.stats.norm2Bound + againstBoundFactor(x) * (normD * normD + 2 * a.stats.mag * normD) + 4 * 2 ** -53 * (a.stats.norm2 + got.norm2 + 2 * Math.abs(g));
    let d2 = a.stats.norm2 + got.norm2 - 2 * g;
    if (!(d2 > 0 && bound <= TRUST * d2)) {
      d2 = residualDirect([x], [1], D);
      o.direct++;
    }
    o.dot[i] = g;
    o.d2[i] = d2;
  });
}

function emptyAgainst(m: number): AgainstStats {
  return { norm2: 0, dot: new Float64Array(m), d2: new Float64Array(m), direct: 0 };
}

/** Error bound factor of <X, D> and of ||D||^2 computed row by row (to multiply by magnitudes). */
export function againstBoundFactor(x: KeyDelta): number {
  return 1.01 * 2 ** -53 * (x.rows + x.cols + (x.lowRank?.R ?? 0) + 4);
}

/** Members in blocks whose factor buffers fit half the budget and whose stacked ranks fit maxRank. */
function partition(bytes: number[], ranks: number[], budget: number, maxRank: number): number[][] {
  const blocks: number[][] = [];
  let cur: number[] = [];
  let curBytes = 0;
  let curRank = 0;
  bytes.forEach((b, i) => {
    if (cur.length > 0 && (curBytes + b > budget / 2 || curRank + ranks[i]! > maxRank)) {
      blocks.push(cur);
      cur = [];
      curBytes = 0;
      curRank = 0;
    }
    cur.push(i);
    curBytes += b;
    curRank += ranks[i]!;
  });
  if (cur.length) blocks.push(cur);
  return blocks;
}

function estimateRank(model: LoraModel, target: LoraTarget, rows: number, cols: number): number {
  let r = 0;
  const seen = new Set<number>();
  for (const c of target.contributions) {
    if (seen.has(c.module)) continue;
    seen.add(c.module);
    const mod = model.modules[c.module]!;
    // LoHa/LoKr pairs are kept low-rank only below rows*cols/(rows+cols); dense deltas cost as much as that rank
    r += mod.kind === 'lora' && !mod.doraScale ? mod.rank ?? 0 : Math.floor((rows * cols) / (rows + cols));
  }
  return r;
}

function estimateBytes(model: LoraModel, target: LoraTarget, rows: number, cols: number): number {
  const seen = new Set<number>();
  let bytes = 0;
  for (const c of target.contributions) {
    if (seen.has(c.module)) continue;
    seen.add(c.module);
    const mod = model.modules[c.module]!;
    // low-rank LoRA: R x (rows + cols); anything else may be dense
    bytes += mod.kind === 'lora' && !mod.doraScale ? (mod.rank ?? 0) * (rows + cols) * 8 : rows * cols * 8;
  }
  return bytes;
}

/** Fills the pairs between two blocks (i < j in member order), or within one block. */
function blockPairs(out: KeyPairs, I: number[], A: Loaded[], J: number[], B: Loaded[], same: boolean, dense: boolean): void {
  const m = out.members.length;
  const G = dense ? denseGram(A, B, same) : lowRankGram(A, B);
  out.gram.blockPairs++;
  for (let x = 0; x < I.length; x++) {
    for (let y = same ? x + 1 : 0; y < J.length; y++) {
      const i = I[x]!;
      const j = J[y]!;
      const a = A[x]!;
      const b = B[y]!;
      let g = G.at(x, y);
      if (!G.complete && (a.delta.dense || b.delta.dense)) g += innerDenseParts(a.delta, b.delta);
      const factor = G.boundFactor?.(a.delta, b.delta) ?? innerBoundFactor(a.delta, b.delta);
      out.boundFactor = Math.max(out.boundFactor, factor);
      const p = pairStats(a.delta, b.delta, a.stats, b.stats, g, factor);
      const [lo, hi] = i < j ? [i, j] : [j, i];
      out.dot[lo * m + hi] = p.dot;
      out.d2[lo * m + hi] = p.d2;
      if (sameToRounding(p)) out.same[lo * m + hi] = 1;
      if (p.direct) out.direct++;
    }
  }
}

interface BlockGram {
  at(x: number, y: number): number;
  /** The values include the dense parts (else the caller adds them). */
  complete: boolean;
  /** Error bound factor of a value, when it differs from inner.ts's low-rank one. */
  boundFactor?: (x: KeyDelta, y: KeyDelta) => number;
}

/**
 * Dense or low-rank, for all pairs of a key: the low-rank Gram costs R_x R_y (rows + cols) per pair, the dense one
 * rows x cols per pair plus building every member's rows once (R rows x cols each). For rank 32 on layers up to
 * about 2000 wide (SDXL's attention) the dense one is cheaper; for narrow ranks on wide layers the low-rank one.
 * A member without a low-rank form (LoHa/LoKr kept dense, full, DoRA) counts with rank rows*cols/(rows+cols).
 */
function preferDense(ranks: number[], rows: number, cols: number): boolean {
  const m = ranks.length;
  if (m < 2) return false;
  const sum = ranks.reduce((s, r) => s + r, 0);
  let sumSquares = 0;
  for (const r of ranks) sumSquares += r * r;
  const low = ((sum * sum - sumSquares) / 2) * (rows + cols);
  const dense = ((m * (m - 1)) / 2) * rows * cols + sum * rows * cols;
  return dense < low;
}

/** Dense rows of every member built chunk by chunk (at most this many bytes at once) and multiplied. */
const CHUNK_BYTES = 32 * 2 ** 20;

/** Two grow-only buffers for denseGram's rows (at most CHUNK_BYTES each), kept from key to key. */
const scratchBuffers: Float64Array[] = [new Float64Array(0), new Float64Array(0)];

function scratch(which: 0 | 1, length: number): Float64Array {
  if (scratchBuffers[which]!.length < length) scratchBuffers[which] = new Float64Array(length);
  return scratchBuffers[which]!.subarray(0, length);
}

/** <X, Y> for every (x in A, y in B) from the dense rows of the deltas, in row chunks. */
function denseGram(A: Loaded[], B: Loaded[], same: boolean): BlockGram {
  const { rows, cols } = A[0]!.delta;
  const m1 = A.length;
  const m2 = B.length;
  const chunkRows = Math.max(1, Math.min(rows, Math.floor(CHUNK_BYTES / ((m1 + (same ? 0 : m2)) * cols * 8))));
  const G = new Float64Array(m1 * m2);
  const bufA = scratch(0, m1 * chunkRows * cols);
  const bufB = same ? bufA : scratch(1, m2 * chunkRows * cols);
  let chunks = 0;
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const n = Math.min(chunkRows, rows - r0);
    const len = n * cols;
    A.forEach((l, x) => deltaRows(l.delta, r0, r0 + n, bufA.subarray(x * len, (x + 1) * len)));
    if (!same) B.forEach((l, y) => deltaRows(l.delta, r0, r0 + n, bufB.subarray(y * len, (y + 1) * len)));
    rowProducts(bufA, m1, bufB, m2, len, G, m2, true, same);
    chunks++;
  }
  const longest = chunkRows * cols;
  return {
    at: (x, y) => G[x * m2 + y]!,
    complete: true,
    // each element of a delta is off by at most γ_{R+1} times its magnitude; the sums run in KC-long pieces
    boundFactor: (x, y) => 1.01 * 2 ** -53 * (ROW_PRODUCT_CHUNK + Math.ceil(longest / ROW_PRODUCT_CHUNK) + chunks + 2 * Math.max(x.lowRank?.R ?? 0, y.lowRank?.R ?? 0) + 8),
  };
}

/** <L_x, L_y> of the low-rank parts of every (x in A, y in B), from two stacked products. */
function lowRankGram(A: Loaded[], B: Loaded[]): BlockGram {
  const stack = (list: Loaded[]) => {
    const offsets: number[] = [];
    let R = 0;
    for (const l of list) {
      offsets.push(R);
      R += l.delta.lowRank?.R ?? 0;
    }
    return { offsets, R };
  };
  const sa = stack(A);
  const sb = stack(B);
  if (sa.R === 0 || sb.R === 0) return { at: () => 0, complete: false };
  const rows = A[0]!.delta.rows;
  const cols = A[0]!.delta.cols;
  const gather = (list: Loaded[], R: number, which: 'Ut' | 'V', len: number) => {
    if (list.length === 1) return list[0]!.delta.lowRank![which];
    const buf = new Float64Array(R * len);
    let o = 0;
    for (const l of list) {
      if (!l.delta.lowRank) continue;
      buf.set(l.delta.lowRank[which], o);
      o += l.delta.lowRank.R * len;
    }
    return buf;
  };
  const X = new Float64Array(sa.R * sb.R);
  const Y = new Float64Array(sa.R * sb.R);
  const utA = gather(A, sa.R, 'Ut', rows);
  const vA = gather(A, sa.R, 'V', cols);
  rowProducts(utA, sa.R, A === B ? utA : gather(B, sb.R, 'Ut', rows), sb.R, rows, X, sb.R);
  rowProducts(vA, sa.R, A === B ? vA : gather(B, sb.R, 'V', cols), sb.R, cols, Y, sb.R);
  return {
    complete: false,
    at(x, y) {
      const ra = A[x]!.delta.lowRank?.R ?? 0;
      const rb = B[y]!.delta.lowRank?.R ?? 0;
      let s = 0;
      for (let a = 0; a < ra; a++) {
        const row = (sa.offsets[x]! + a) * sb.R + sb.offsets[y]!;
        s += dot(X, row, Y, row, rb);
      }
      return s;
    },
  };
}
