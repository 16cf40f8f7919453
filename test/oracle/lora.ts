/**
 * Independent float64 reference for LoRA deltas, written plainly for tests. It shares no code with src/: it reads
 * the file with the oracle's own safetensors reader, builds every module's delta dW explicitly as a dense matrix
 * from the formats' definitions (kohya LoRA incl. Tucker mid, LyCORIS LoHa incl. Tucker cores, LoKr incl. Tucker
 * w2, full diff), places it on the target weights the test's manifest names, and computes norms, inner products
 * and distances with compensated sums.
 */
import { loadModel, type OracleTensor } from './float64';

export interface OracleTarget {
  key: string;
  /** shape of the whole target weight */
  shape: number[];
  /** rows of the target the module's rows land on */
  rows?: [number, number];
  /** rows of the module's delta that land there */
  srcRows?: [number, number];
}

/** stored module name -> where its delta goes */
export type OracleManifest = Record<string, OracleTarget[]>;

export interface DenseDelta {
  rows: number;
  cols: number;
  v: Float64Array;
}

const SUFFIXES: [string, string][] = [
  ['.lora_down.weight', 'down'],
  ['.lora_up.weight', 'up'],
  ['.lora_mid.weight', 'mid'],
  ['.lora_A.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['.hada_w1_a', 'hw1a'],
  ['.hada_w1_b', 'hw1b'],
  ['.hada_w2_a', 'hw2a'],
  ['.hada_w2_b', 'hw2b'],
  ['.hada_t1', 'ht1'],
  ['.hada_t2', 'ht2'],
  ['.lokr_w1_a', 'kw1a'],
  ['.lokr_w1_b', 'kw1b'],
  ['.lokr_w2_a', 'kw2a'],
  ['.lokr_w2_b', 'kw2b'],
  ['.lokr_w1', 'kw1'],
  ['.lokr_w2', 'kw2'],
  ['.lokr_t2', 'kt2'],
  ['.alpha', 'alpha'],
  ['.dora_scale', 'dora'],
  ['.diff', 'diff'],
];

interface T {
  shape: number[];
  v: Float64Array;
}

function mm(a: T, b: T): T {
  const [m, k] = [a.shape[0]!, a.v.length / a.shape[0]!];
  const n = b.v.length / b.shape[0]!;
  if (b.shape[0] !== k) throw new Error(`oracle: ${m}x${k} times ${b.shape[0]}x${n}`);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let l = 0; l < k; l++) s += a.v[i * k + l]! * b.v[l * n + j]!;
    out[i * n + j] = s;
  }
  return { shape: [m, n], v: out };
}

/** einsum('i j k l, j r, i p -> p r k l', t, wb, wa): the Tucker product of LyCORIS. */
function tucker(t: T, wb: T, wa: T): T {
  const [I, J, K, L] = t.shape as [number, number, number, number];
  const R = wb.shape[1]!;
  const P = wa.shape[1]!;
  const out = new Float64Array(P * R * K * L);
  for (let p = 0; p < P; p++) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) for (let l = 0; l < L; l++) {
    let s = 0;
    for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) s += t.v[((i * J + j) * K + k) * L + l]! * wb.v[j * R + r]! * wa.v[i * P + p]!;
    out[((p * R + r) * K + k) * L + l] = s;
  }
  return { shape: [P, R, K, L], v: out };
}

/** torch.kron for 2-D x 2-D, or 2-D x 4-D (w1 unsqueezed to [a, b, 1, 1]). */
function kron(a: T, b: T): T {
  const [A0, A1] = a.shape as [number, number];
  const [B0, B1, ...rest] = b.shape as [number, number, ...number[]];
  const K = rest.reduce((s, x) => s * x, 1);
  const shape = [A0 * B0, A1 * B1, ...rest];
  const out = new Float64Array(A0 * B0 * A1 * B1 * K);
  for (let i = 0; i < A0; i++) for (let j = 0; j < A1; j++) for (let k = 0; k < B0; k++) for (let l = 0; l < B1; l++) for (let h = 0; h < K; h++) {
    out[((i * B0 + k) * (A1 * B1) + (j * B1 + l)) * K + h] = a.v[i * A1 + j]! * b.v[(k * B1 + l) * K + h]!;
  }
  return { shape, v: out };
}

export interface DoraInfo {
  /** magnitudes */
  m: Float64Array;
  /** 'out': one per output channel; 'in': one per input channel (over all other dimensions) */
  axis: 'out' | 'in';
  /** machine epsilon of the magnitudes' dtype */
  eps: number;
  /** input channels of the layer */
  channels: number;
}

/** The dense delta of every module in the file, flattened to [out, rest]; DoRA modules also give their magnitudes. */
export function oracleModuleDeltas(path: string): Map<string, DenseDelta & { dora?: DoraInfo }> {
  const model = loadModel(path);
  const groups = new Map<string, Map<string, OracleTensor>>();
  for (const t of model.tensors.values()) {
    const hit = SUFFIXES.find(([s]) => t.stored.endsWith(s));
    if (!hit) throw new Error(`oracle: unknown LoRA tensor ${t.stored}`);
    const module = t.stored.slice(0, -hit[0].length);
    if (!groups.has(module)) groups.set(module, new Map());
    groups.get(module)!.set(hit[1], t);
  }
  const out = new Map<string, DenseDelta>();
  for (const [module, g] of groups) {
    const get = (role: string): T | undefined => {
      const t = g.get(role);
      return t ? { shape: t.shape, v: t.values } : undefined;
    };
    const alpha = get('alpha')?.v[0];
    let d: T;
    let scale = 1;
    if (g.has('down')) {
      const down = get('down')!;
      const up = get('up')!;
      const r = down.shape[0]!;
      const upM: T = { shape: [up.shape[0]!, r], v: up.v };
      if (g.has('mid')) {
        // dW[o, i, h, w] = sum_a sum_b up[o, a] mid[a, b, h, w] down[b, i]
        const mid = get('mid')!;
        const [, , kh, kw] = mid.shape as [number, number, number, number];
        const inC = down.shape[1]!;
        const v = new Float64Array(up.shape[0]! * inC * kh * kw);
        for (let o = 0; o < up.shape[0]!; o++) for (let i = 0; i < inC; i++) for (let h = 0; h < kh * kw; h++) {
          let s = 0;
          for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) s += up.v[o * r + a]! * mid.v[(a * r + b) * kh * kw + h]! * down.v[b * inC + i]!;
          v[(o * inC + i) * kh * kw + h] = s;
        }
        d = { shape: [up.shape[0]!, inC, kh, kw], v };
      } else {
        d = mm(upM, { shape: [r, down.v.length / r], v: down.v });
      }
      if (alpha !== undefined && alpha !== 0) scale = alpha / r;
    } else if (g.has('hw1a')) {
      let m1: T;
      let m2: T;
      if (g.has('ht1')) {
        m1 = tucker(get('ht1')!, get('hw1b')!, get('hw1a')!);
        m2 = tucker(get('ht2')!, get('hw2b')!, get('hw2a')!);
      } else {
        m1 = mm(get('hw1a')!, get('hw1b')!);
        m2 = mm(get('hw2a')!, get('hw2b')!);
      }
      const v = new Float64Array(m1.v.length);
      for (let i = 0; i < v.length; i++) v[i] = m1.v[i]! * m2.v[i]!;
      d = { shape: m1.shape, v };
      if (alpha !== undefined) scale = alpha / get('hw1b')!.shape[0]!;
    } else if (g.has('kw1') || g.has('kw1a')) {
      let dim: number | undefined;
      let w1: T;
      if (g.has('kw1')) w1 = get('kw1')!;
      else {
        w1 = mm(get('kw1a')!, get('kw1b')!);
        dim = get('kw1b')!.shape[0];
      }
      let w2: T;
      if (g.has('kw2')) w2 = get('kw2')!;
      else {
        dim = get('kw2b')!.shape[0];
        w2 = g.has('kt2') ? tucker(get('kt2')!, get('kw2b')!, get('kw2a')!) : mm(get('kw2a')!, get('kw2b')!);
      }
      d = kron(w1, w2);
      if (alpha !== undefined && dim !== undefined) scale = alpha / dim;
    } else if (g.has('diff')) {
      d = get('diff')!;
    } else {
      continue;
    }
    const rows = d.shape[0]!;
    const v = new Float64Array(d.v.length);
    for (let i = 0; i < v.length; i++) v[i] = scale * d.v[i]!;
    const entry: DenseDelta & { dora?: DoraInfo } = { rows, cols: v.length / rows, v };
    const dora = g.get('dora');
    if (dora) {
      const eps = ({ F32: 2 ** -23, F16: 2 ** -10, BF16: 2 ** -7, F64: 2 ** -52 } as Record<string, number>)[dora.dtype]!;
      const axis = dora.shape[0] === rows && dora.values.length === rows ? 'out' : 'in';
      entry.dora = { m: dora.values, axis, eps, channels: axis === 'in' ? dora.values.length : rows };
    }
    out.set(module, entry);
  }
  return out;
}

/** W' - W for W' = (W + dW) m / (||W + dW|| + eps), norms per output channel or per input channel. */
function oracleDora(dW: DenseDelta, W: Float64Array, dora: DoraInfo): Float64Array {
  const { rows, cols } = dW;
  const merged = dW.v.map((x, i) => x + W[i]!);
  const out = new Float64Array(merged.length);
  if (dora.axis === 'out') {
    for (let r = 0; r < rows; r++) {
      const n = Math.sqrt(kahan(cols, (c) => merged[r * cols + c]! ** 2));
      for (let c = 0; c < cols; c++) out[r * cols + c] = (merged[r * cols + c]! * dora.m[r]!) / (n + dora.eps) - W[r * cols + c]!;
    }
  } else {
    const per = cols / dora.channels;
    for (let ch = 0; ch < dora.channels; ch++) {
      const n = Math.sqrt(kahan(rows * per, (i) => merged[Math.floor(i / per) * cols + ch * per + (i % per)]! ** 2));
      for (let r = 0; r < rows; r++) for (let k = 0; k < per; k++) {
        const e = r * cols + ch * per + k;
        out[e] = (merged[e]! * dora.m[ch]!) / (n + dora.eps) - W[e]!;
      }
    }
  }
  return out;
}

/**
 * The delta of every target weight: modules placed on their rows, as the manifest says. DoRA modules need the base
 * model's file (their change depends on its weights).
 */
export function oracleKeyDeltas(path: string, manifest: OracleManifest, basePath?: string): Map<string, DenseDelta> {
  const modules = oracleModuleDeltas(path);
  const baseModel = basePath ? loadModel(basePath) : undefined;
  const out = new Map<string, DenseDelta>();
  for (const [module, targets] of Object.entries(manifest)) {
    let d = modules.get(module);
    if (!d) throw new Error(`oracle: no module ${module} in ${path}`);
    if (d.dora) {
      if (!baseModel) throw new Error(`oracle: ${module} is DoRA and needs the base`);
      const W = new Float64Array(d.v.length);
      for (const t of targets) {
        const base = baseModel.tensors.get(t.key)!.values;
        const [s0, s1] = t.srcRows ?? [0, d.rows];
        const [t0] = t.rows ?? [0, d.rows];
        for (let r = 0; r < s1 - s0; r++) for (let c = 0; c < d.cols; c++) W[(s0 + r) * d.cols + c] = base[(t0 + r) * d.cols + c]!;
      }
      d = { rows: d.rows, cols: d.cols, v: oracleDora(d, W, d.dora) };
    }
    for (const t of targets) {
      const rows = t.shape[0]!;
      const cols = t.shape.slice(1).reduce((s, x) => s * x, 1);
      if (cols !== d.cols) throw new Error(`oracle: ${module} has ${d.cols} columns, ${t.key} ${cols}`);
      let k = out.get(t.key);
      if (!k) out.set(t.key, (k = { rows, cols, v: new Float64Array(rows * cols) }));
      const [s0, s1] = t.srcRows ?? [0, d.rows];
      const [t0] = t.rows ?? [0, rows];
      for (let r = 0; r < s1 - s0; r++) for (let c = 0; c < cols; c++) k.v[(t0 + r) * cols + c] += d.v[(s0 + r) * cols + c]!;
    }
  }
  return out;
}

/** Neumaier-compensated sum of f(i) for i < n. */
export function kahan(n: number, f: (i: number) => number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const x = f(i);
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

export function oracleInner(a: DenseDelta | undefined, b: DenseDelta | undefined): number {
  if (!a || !b) return 0;
  return kahan(a.v.length, (i) => a.v[i]! * b.v[i]!);
}

export function oracleDistance2(a: DenseDelta | undefined, b: DenseDelta | undefined): number {
  const n = (a ?? b)!.v.length;
  return kahan(n, (i) => {
    const d = (a ? a.v[i]! : 0) - (b ? b.v[i]! : 0);
    return d * d;
  });
}

/** Sums over every key of either map. */
export function oracleTotals(a: Map<string, DenseDelta>, b: Map<string, DenseDelta>): { d2: number; dot: number; na: number; nb: number } {
  let d2 = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    d2 += oracleDistance2(a.get(key), b.get(key));
    dot += oracleInner(a.get(key), b.get(key));
    na += oracleInner(a.get(key), a.get(key));
    nb += oracleInner(b.get(key), b.get(key));
  }
  return { d2, dot, na, nb };
}
