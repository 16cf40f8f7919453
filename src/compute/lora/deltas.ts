/**
 * The effective delta of each target weight, in float64, as a low-rank pair where that is exact and cheaper, else
 * as a dense matrix. A weight's delta is viewed as a matrix `rows x cols` = [out, in*kh*kw] (PyTorch's flattening of a
 * convolution kernel), and the low-rank pair is stored as Ut (R x rows, the transpose of U) and V (R x cols), so
 * that dW = U V = sum_a Ut[a, :]ᵀ V[a, :]. The scale (alpha / rank) is folded into Ut.
 *
 * Why each form is exact (proved numerically by test/unit/lora/deltas.test.ts against explicit products):
 * - LoRA: dW = s up down. U = s up, V = down (a convolution's down flattened to r x in*kh*kw: the 1x1 up then
 *   mixes the r output channels of the kxk down). With a Tucker mid [r, r, kh, kw] and a 1x1 down:
 *   dW[o, (i,h,w)] = sum_{a,b} up[o,a] mid[a,b,h,w] down[b,i], so V[a, (i,h,w)] = sum_b mid[a,b,h,w] down[b,i].
 * - LoHa: (A1 B1) ⊙ (A2 B2) = sum_{p,q} (A1[:,p] ⊙ A2[:,q]) (B1[p,:] ⊙ B2[q,:]), so U's column (p,q) is the
 *   elementwise product of columns p and q, and V's row (p,q) of rows p and q: R = r1 r2 (the face-splitting /
 *   Khatri-Rao form). With Tucker cores, A = w_aᵀ and B[i, (c,h,w)] = sum_j t[i,j,h,w] w_b[j,c].
 * - LoKr: kron(W1, W2) with W1 = P1 Q1 (a x r1, r1 x b) and W2 = P2 Q2 (c x r2, r2 x d*k) is, by the mixed-product
 *   rule, kron(P1, P2) kron(Q1, Q2): U = kron(P1, P2), V = kron(Q1, Q2), R = r1 r2. An unfactored side is
 *   written I W or W I (whichever identity is smaller), so kron(W1, w2a w2b) = kron(W1, w2a) kron(I, w2b) etc.
 *   The column order of a convolution's kron matches PyTorch's: dW[(i,k), (j, (l,h,w))] = W1[i,j] W2[k, (l,h,w)].
 * - full (LyCORIS `diff`): dense, as stored.
 * - DoRA (`dora_scale` beside any of them): dense, from the base weight (dora.ts).
 */
import { ModeldiffError } from '../../shared/errors';
import { applyDora } from './dora';
import type { FileHandles } from './io';
import { readF64 } from './io';
import { lowRankRows } from './linalg';
import { flat2 } from './parse';
import type { LoraModel, LoraModule, LoraTarget } from './types';

export interface LowRank {
  R: number;
  /** R x rows */
  Ut: Float64Array;
  /** R x cols */
  V: Float64Array;
}

/** The delta of one target weight of one LoRA. */
export interface KeyDelta {
  key: string;
  rows: number;
  cols: number;
  lowRank?: LowRank;
  /** rows x cols */
  dense?: Float64Array;
}

type ModuleDelta = { rows: number; cols: number } & ({ lowRank: LowRank } | { dense: Float64Array });

/** Reads and combines the module deltas of one target (its contributions placed on their rows). */
export function targetDelta(model: LoraModel, target: LoraTarget, files: FileHandles): KeyDelta {
  const [rows, cols] = flat2(target.shape);
  const byModule = new Map<number, LoraTarget['contributions']>();
  for (const c of target.contributions) {
    let list = byModule.get(c.module);
    if (!list) byModule.set(c.module, (list = []));
    list.push(c);
  }
  const pieces: { delta: ModuleDelta; contributions: LoraTarget['contributions'] }[] = [];
  for (const [m, contributions] of byModule) {
    const module = model.modules[m]!;
    let delta = moduleDelta(module, files, model.file);
    if (module.doraScale) delta = doraModuleDelta(module, delta, contributions, target, cols, files, model.file);
    pieces.push({ delta, contributions });
  }

  let R = 0;
  for (const p of pieces) if ('lowRank' in p.delta) R += p.delta.lowRank.R;
  const out: KeyDelta = { key: target.key, rows, cols };
  const Ut = R > 0 ? new Float64Array(R * rows) : undefined;
  const V = R > 0 ? new Float64Array(R * cols) : undefined;
  let a0 = 0;
  for (const { delta, contributions } of pieces) {
    if (delta.cols !== cols) throw new ModeldiffError('ENGINE_INTERNAL', `module delta of ${target.key} has ${delta.cols} columns, the target ${cols}`, { file: model.file });
    for (const c of contributions) {
      const [s0, s1] = c.srcRows ?? [0, delta.rows];
      const [t0, t1] = c.rows ?? [0, rows];
      if (s1 - s0 !== t1 - t0 || s0 < 0 || s1 > delta.rows || t0 < 0 || t1 > rows) {
        throw new ModeldiffError('ENGINE_INTERNAL', `contribution rows [${s0}, ${s1}) -> [${t0}, ${t1}) do not fit ${target.key}`, { file: model.file });
      }
      if ('lowRank' in delta) {
        const { R: r, Ut: mu } = delta.lowRank;
        for (let a = 0; a < r; a++) Ut!.set(mu.subarray(a * delta.rows + s0, a * delta.rows + s1), (a0 + a) * rows + t0);
      } else {
        const D = (out.dense ??= new Float64Array(rows * cols));
        for (let k = 0; k < s1 - s0; k++) {
          const src = (s0 + k) * cols;
          const dst = (t0 + k) * cols;
          for (let j = 0; j < cols; j++) D[dst + j] += delta.dense[src + j]!;
        }
      }
    }
    if ('lowRank' in delta) {
      V!.set(delta.lowRank.V, a0 * cols);
      a0 += delta.lowRank.R;
    }
  }
  if (R > 0) out.lowRank = { R, Ut: Ut!, V: V! };
  return out;
}

/** A DoRA module's change: its plain delta applied to the base rows it covers, then decomposed (dora.ts). */
function doraModuleDelta(module: LoraModule, delta: ModuleDelta, contributions: LoraTarget['contributions'], target: LoraTarget, cols: number, files: FileHandles, file: string): ModuleDelta {
  if (!target.base) throw new ModeldiffError('LORA_UNSUPPORTED', `${module.name}: a DoRA module needs the base weight ${target.key}`, { file, details: { key: module.name } });
  const rows = delta.rows;
  const dense = new Float64Array(rows * cols);
  if ('lowRank' in delta) lowRankRows(delta.lowRank.Ut, delta.lowRank.R, rows, delta.lowRank.V, cols, 0, rows, dense);
  else dense.set(delta.dense);
  const W = new Float64Array(rows * cols);
  for (const c of contributions) {
    const [s0, s1] = c.srcRows ?? [0, rows];
    const [t0] = c.rows ?? [0, rows];
    readF64(files, target.base, t0 * cols, (s1 - s0) * cols, W.subarray(s0 * cols, s1 * cols));
  }
  return { rows, cols, dense: applyDora(module, dense, W, rows, cols, files, file) };
}

/** A row-major rows x cols float64 matrix. */
interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

function read(module: LoraModule, role: keyof LoraModule['factors'], files: FileHandles, file: string): Float64Array {
  const ref = module.factors[role]!;
  const v = readF64(files, ref);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new ModeldiffError('LORA_INVALID', `${module.name}: ${ref.name} holds ${v[i]} at element ${i}`, { file, details: { key: module.name } });
  }
  return v;
}

/** Whether a rank-R pair is cheaper than the dense matrix (for storage and for every inner product). */
function lowRankPays(R: number, rows: number, cols: number): boolean {
  return R * (rows + cols) < rows * cols;
}

function moduleDelta(module: LoraModule, files: FileHandles, file: string): ModuleDelta {
  const [rows, cols] = flat2(module.shape);
  const s = module.scale;
  switch (module.kind) {
    case 'full': {
      const D = read(module, 'diff', files, file);
      return { rows, cols, dense: D };
    }
    case 'lora': {
      const up = read(module, 'up', files, file);
      const r = module.factors.down!.shape[0]!;
      let V = read(module, 'down', files, file);
      if (module.factors.mid) V = tuckerRows(read(module, 'mid', files, file), r, V, module.factors.down!.shape[1]!, module.shape[2]! * module.shape[3]!);
      const Ut = new Float64Array(r * rows);
      for (let o = 0; o < rows; o++) for (let a = 0; a < r; a++) Ut[a * rows + o] = s * up[o * r + a]!;
      return { rows, cols, lowRank: { R: r, Ut, V } };
    }
    case 'loha': {
      const [A1, B1] = hadaSide(module, '1', files, file, rows, cols);
      const [A2, B2] = hadaSide(module, '2', files, file, rows, cols);
      const r1 = A1.cols;
      const r2 = A2.cols;
      const R = r1 * r2;
      if (!lowRankPays(R, rows, cols)) {
        const P1 = matmul(A1, B1);
        const P2 = matmul(A2, B2);
        const D = new Float64Array(rows * cols);
        for (let e = 0; e < D.length; e++) D[e] = s * P1[e]! * P2[e]!;
        return { rows, cols, dense: D };
      }
      const Ut = new Float64Array(R * rows);
      const V = new Float64Array(R * cols);
      for (let p = 0; p < r1; p++) {
        for (let q = 0; q < r2; q++) {
          const a = p * r2 + q;
          for (let o = 0; o < rows; o++) Ut[a * rows + o] = s * A1.data[o * r1 + p]! * A2.data[o * r2 + q]!;
          for (let c = 0; c < cols; c++) V[a * cols + c] = B1.data[p * cols + c]! * B2.data[q * cols + c]!;
        }
      }
      return { rows, cols, lowRank: { R, Ut, V } };
    }
    case 'lokr': {
      const [P1, Q1] = kronSide1(module, files, file);
      const [P2, Q2] = kronSide2(module, files, file);
      const r1 = P1.cols;
      const r2 = P2.cols;
      const R = r1 * r2;
      if (P1.rows * P2.rows !== rows || Q1.cols * Q2.cols !== cols) throw new ModeldiffError('ENGINE_INTERNAL', `LoKr factors of ${module.name} do not make its shape`, { file });
      if (!lowRankPays(R, rows, cols)) {
        const W1 = matmul(P1, Q1);
        const W2 = matmul(P2, Q2);
        return { rows, cols, dense: kron(W1, P1.rows, Q1.cols, W2, P2.rows, Q2.cols, s) };
      }
      // Ut = s kron(P1, P2)ᵀ, V = kron(Q1, Q2)
      const Ut = new Float64Array(R * rows);
      const V = new Float64Array(R * cols);
      const [a, c] = [P1.rows, P2.rows];
      const [b, d] = [Q1.cols, Q2.cols];
      for (let s1 = 0; s1 < r1; s1++) {
        for (let s2 = 0; s2 < r2; s2++) {
          const k = s1 * r2 + s2;
          for (let i = 0; i < a; i++) {
            const p1 = s * P1.data[i * r1 + s1]!;
            for (let kk = 0; kk < c; kk++) Ut[k * rows + i * c + kk] = p1 * P2.data[kk * r2 + s2]!;
          }
          for (let j = 0; j < b; j++) {
            const q1 = Q1.data[s1 * b + j]!;
            for (let l = 0; l < d; l++) V[k * cols + j * d + l] = q1 * Q2.data[s2 * d + l]!;
          }
        }
      }
      return { rows, cols, lowRank: { R, Ut, V } };
    }
  }
}

/** V[a, (i, hw)] = sum_b core[a, b, hw] * W[b, i]: a Tucker core applied to a rank x width factor. */
function tuckerRows(core: Float64Array, r: number, W: Float64Array, width: number, hw: number): Float64Array {
  const V = new Float64Array(r * width * hw);
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < r; b++) {
      for (let i = 0; i < width; i++) {
        const w = W[b * width + i]!;
        if (w === 0) continue;
        const dst = a * width * hw + i * hw;
        const src = (a * r + b) * hw;
        for (let k = 0; k < hw; k++) V[dst + k] += core[src + k]! * w;
      }
    }
  }
  return V;
}

/** One Hadamard factor of a LoHa as A (rows x r) and B (r x cols). */
function hadaSide(module: LoraModule, side: '1' | '2', files: FileHandles, file: string, rows: number, cols: number): [Mat, Mat] {
  const wa = read(module, side === '1' ? 'w1a' : 'w2a', files, file);
  const wb = read(module, side === '1' ? 'w1b' : 'w2b', files, file);
  const tRole = side === '1' ? 't1' : 't2';
  const aRef = module.factors[side === '1' ? 'w1a' : 'w2a']!;
  if (module.factors[tRole]) {
    // Tucker: w_a is [r, out], w_b [r, in], t [r, r, kh, kw]
    const r = aRef.shape[0]!;
    const A = new Float64Array(rows * r);
    for (let i = 0; i < r; i++) for (let o = 0; o < rows; o++) A[o * r + i] = wa[i * rows + o]!;
    const hw = module.shape[2]! * module.shape[3]!;
    const B = tuckerRows(read(module, tRole, files, file), r, wb, cols / hw, hw);
    return [{ rows, cols: r, data: A }, { rows: r, cols, data: B }];
  }
  const r = aRef.shape[1]!;
  return [{ rows, cols: r, data: wa }, { rows: r, cols, data: wb }];
}

/** W1 of a LoKr as P1 (a x r1) Q1 (r1 x b). */
function kronSide1(module: LoraModule, files: FileHandles, file: string): [Mat, Mat] {
  if (module.factors.w1) {
    const [a, b] = module.factors.w1.shape as [number, number];
    return wholeAsProduct(read(module, 'w1', files, file), a, b);
  }
  const [a, r] = module.factors.w1a!.shape as [number, number];
  const b = module.factors.w1b!.shape[1]!;
  return [{ rows: a, cols: r, data: read(module, 'w1a', files, file) }, { rows: r, cols: b, data: read(module, 'w1b', files, file) }];
}

/** W2 of a LoKr, flattened to c x (d*kh*kw), as P2 (c x r2) Q2 (r2 x d*kh*kw). */
function kronSide2(module: LoraModule, files: FileHandles, file: string): [Mat, Mat] {
  if (module.factors.w2) {
    const [c, dk] = flat2(module.factors.w2.shape);
    return wholeAsProduct(read(module, 'w2', files, file), c, dk);
  }
  if (module.factors.t2) {
    const r = module.factors.w2a!.shape[0]!;
    const c = module.factors.w2a!.shape[1]!;
    const d = module.factors.w2b!.shape[1]!;
    const hw = module.factors.t2.shape[2]! * module.factors.t2.shape[3]!;
    const wa = read(module, 'w2a', files, file);
    const P = new Float64Array(c * r);
    for (let i = 0; i < r; i++) for (let k = 0; k < c; k++) P[k * r + i] = wa[i * c + k]!;
    const Q = tuckerRows(read(module, 't2', files, file), r, read(module, 'w2b', files, file), d, hw);
    return [{ rows: c, cols: r, data: P }, { rows: r, cols: d * hw, data: Q }];
  }
  const [c, r] = module.factors.w2a!.shape as [number, number];
  const dk = module.factors.w2b!.shape[1]!;
  return [{ rows: c, cols: r, data: read(module, 'w2a', files, file) }, { rows: r, cols: dk, data: read(module, 'w2b', files, file) }];
}

/** A whole m x n matrix W as I W (r = m) or W I (r = n), whichever is smaller. */
function wholeAsProduct(W: Float64Array, m: number, n: number): [Mat, Mat] {
  if (m <= n) return [{ rows: m, cols: m, data: identity(m) }, { rows: m, cols: n, data: W }];
  return [{ rows: m, cols: n, data: W }, { rows: n, cols: n, data: identity(n) }];
}

function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

function matmul(A: Mat, B: Mat): Float64Array {
  const C = new Float64Array(A.rows * B.cols);
  for (let i = 0; i < A.rows; i++) {
    for (let k = 0; k < A.cols; k++) {
      const x = A.data[i * A.cols + k]!;
      if (x === 0) continue;
      for (let j = 0; j < B.cols; j++) C[i * B.cols + j] += x * B.data[k * B.cols + j]!;
    }
  }
  return C;
}

/** s * kron(A (a x b), B (c x d)). */
function kron(A: Float64Array, a: number, b: number, B: Float64Array, c: number, d: number, s: number): Float64Array {
  const out = new Float64Array(a * c * b * d);
  const cols = b * d;
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      const x = s * A[i * b + j]!;
      for (let k = 0; k < c; k++) for (let l = 0; l < d; l++) out[(i * c + k) * cols + j * d + l] = x * B[k * d + l]!;
    }
  }
  return out;
}
