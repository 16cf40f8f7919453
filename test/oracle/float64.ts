/**
 * Independent float64 reference of the pairwise checkpoint comparison, written plainly for tests.
 *
 * It shares no code with src/ or the fixture writer: its own safetensors parsing (whole file, JSON.parse), its own
 * element decoding (F16/BF16 by formula), its own key canonicalisation and component assignment. Small files only.
 *
 * Method (the notebook's, in float64): per shared key of equal shape d2 = sum (a - b)^2; a component's l2 is
 * sqrt(sum of d2 over its shared equal-shape keys) = sqrt(sum of squared per-key torch.dist). Sums are Neumaier
 * compensated. Keys with a NaN/Inf on either side are left out of l2/cosine, counted as non_finite, and have equal
 * values only when bit-identical.
 *
 * Families (its own rules, from the key names the model-zoo note lists): FLUX.1 (`double_blocks.0.img_attn.norm.
 * key_norm.scale`) and SD3 (`joint_blocks.0.context_block.attn.qkv.weight`), stored bare or under
 * `model.diffusion_model.`; their components are `transformer`, `clip_l`, `clip_g`, `t5xxl` (`text_encoders.<name>.`)
 * and `vae` (`first_stage_model.`, or `vae.` in a FLUX all-in-one). Every other model is read as Stable Diffusion.
 * Each component has a kind (its own architecture); two components of one name but different kinds are not compared:
 * not_comparable with the reason different_architectures, every key of theirs unmatched.
 *
 * Status per component: only_in_a / only_in_b (keys on one side only); not_comparable (no shared key of equal shape,
 * or only non-finite ones that differ: l2 is null); identical (same canonical key set, every key the same dtype and
 * bytes); equal_values (every shared equal-shape key has equal values); changed otherwise.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ComponentDiff, ComponentStatus } from '../../src/shared/result';
import { loadGgufOracle, oracleSafetensorsQuant } from './quantised';

export type OracleComponent = 'unet' | 'transformer' | 'te' | 'te0' | 'te1' | 'clip_l' | 'clip_g' | 't5xxl' | 'vae' | 'ema' | 'other';
export const ORACLE_COMPONENTS: readonly OracleComponent[] = ['unet', 'transformer', 'te', 'te0', 'te1', 'clip_l', 'clip_g', 't5xxl', 'vae', 'ema', 'other'];

export interface OracleTensor {
  /** canonical key */
  key: string;
  /** name as stored in the file */
  stored: string;
  component: OracleComponent;
  shape: number[];
  dtype: string;
  values: Float64Array;
  bytes: Uint8Array;
}

export interface OracleModel {
  path: string;
  file: string;
  metadata: Record<string, string>;
  /** canonical key -> tensor, in file order */
  tensors: Map<string, OracleTensor>;
  /** component -> its architecture; components of one name and different kinds are never compared */
  kinds: Map<OracleComponent, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

function f16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * Math.pow(2, -24);
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * Math.pow(2, e - 15);
}

function bf16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0) return sign * m * Math.pow(2, -133);
  if (e === 255) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 128) * Math.pow(2, e - 127);
}

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };

export function decodeValues(dtype: string, bytes: Uint8Array): Float64Array {
  const size = SIZES[dtype];
  if (size === undefined) throw new Error(`oracle: unsupported dtype ${dtype}`);
  const n = bytes.length / size;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (dtype) {
      case 'F64': out[i] = dv.getFloat64(o, true); break;
      case 'F32': out[i] = dv.getFloat32(o, true); break;
      case 'F16': out[i] = f16(dv.getUint16(o, true)); break;
      case 'BF16': out[i] = bf16(dv.getUint16(o, true)); break;
      case 'I64': out[i] = Number(dv.getBigInt64(o, true)); break;
      case 'U64': out[i] = Number(dv.getBigUint64(o, true)); break;
      case 'I32': out[i] = dv.getInt32(o, true); break;
      case 'U32': out[i] = dv.getUint32(o, true); break;
      case 'I16': out[i] = dv.getInt16(o, true); break;
      case 'U16': out[i] = dv.getUint16(o, true); break;
      case 'I8': out[i] = dv.getInt8(o); break;
      case 'U8': out[i] = dv.getUint8(o); break;
      case 'BOOL': out[i] = dv.getUint8(o) ? 1 : 0; break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

export function oracleComponent(canonicalKey: string, family: OracleFamily = 'sd'): OracleComponent {
  const k = canonicalKey;
  if (family !== 'sd') {
    if (k.startsWith('model.diffusion_model.')) return 'transformer';
    for (const te of ['clip_l', 'clip_g', 't5xxl'] as const) if (k.startsWith(`text_encoders.${te}.`)) return te;
    if (k.startsWith('first_stage_model.')) return 'vae';
    return 'other';
  }
  if (k.startsWith('model.diffusion_model.')) return 'unet';
  if (k.startsWith('cond_stage_model.')) return 'te';
  if (k.startsWith('conditioner.embedders.0.')) return 'te0';
  if (k.startsWith('conditioner.embedders.1.')) return 'te1';
  if (k.startsWith('first_stage_model.')) return 'vae';
  if (k.startsWith('model_ema.')) return 'ema';
  return 'other';
}

export type OracleFamily = 'sd' | 'flux' | 'sd3';

const FLUX_KEY = 'double_blocks.0.img_attn.norm.key_norm.scale';
const SD3_KEY = 'joint_blocks.0.context_block.attn.qkv.weight';

export function oracleFamily(stored: readonly string[]): OracleFamily {
  const has = (k: string) => stored.includes(k) || stored.includes('model.diffusion_model.' + k);
  if (has(FLUX_KEY)) return 'flux';
  if (has(SD3_KEY)) return 'sd3';
  return 'sd';
}

/** FLUX / SD3 names: an all-in-one's `vae.` is `first_stage_model.`; a bare transformer's keys go under model.diffusion_model. */
function ditKeys(stored: readonly string[]): Map<string, string> {
  const bare = !stored.some((k) => k.startsWith('model.diffusion_model.'));
  const out = new Map<string, string>();
  for (const k of stored) {
    let c = k;
    if (k.startsWith('vae.')) c = 'first_stage_model.' + k.slice(4);
    else if (bare && !k.startsWith('text_encoders.') && !k.startsWith('first_stage_model.')) c = 'model.diffusion_model.' + k;
    out.set(k, c);
  }
  return out;
}

/** The architecture of each component of a model, by the oracle's own rules. */
function componentKinds(family: OracleFamily, tensors: Map<string, OracleTensor>): Map<OracleComponent, string> {
  const kinds = new Map<OracleComponent, string>();
  const shape = (k: string) => tensors.get(k)?.shape;
  const any = (p: string) => [...tensors.keys()].some((k) => k.startsWith(p));
  let unet = 'sd1';
  if (tensors.has('model.diffusion_model.label_emb.0.0.weight')) {
    unet = [...tensors.keys()].some((k) => k.startsWith('model.diffusion_model.input_blocks.11.')) ? 'sdxl-refiner' : 'sdxl';
  } else if (any('cond_stage_model.model.') || (!any('cond_stage_model.transformer.') && shape('model.diffusion_model.input_blocks.1.1.proj_in.weight')?.length === 2)) {
    unet = 'sd2';
  }
  let transformer = family;
  if (family === 'sd3') {
    if (tensors.has('model.diffusion_model.joint_blocks.0.x_block.attn2.qkv.weight')) transformer = 'sd35-medium' as OracleFamily;
    else if (tensors.has('model.diffusion_model.joint_blocks.0.x_block.attn.ln_k.weight')) transformer = 'sd35-large' as OracleFamily;
  }
  const conv = shape('first_stage_model.encoder.conv_out.weight');
  for (const t of tensors.values()) {
    const c = t.component;
    if (kinds.has(c)) continue;
    switch (c) {
      case 'unet': kinds.set(c, unet); break;
      case 'ema': kinds.set(c, 'ema-' + unet); break;
      case 'transformer': kinds.set(c, transformer); break;
      case 'te': kinds.set(c, any('cond_stage_model.model.') ? 'openclip-h' : 'clip-l'); break;
      case 'vae': kinds.set(c, conv ? `vae-${conv[0]! / 2}ch` : 'vae'); break;
      default: kinds.set(c, c);
    }
  }
  return kinds;
}

/**
 * Canonical names for all keys of one file: NAI `cond_stage_model.transformer.X` -> `...transformer.text_model.X`;
 * LitEma dotless shadows -> `model_ema.diffusion_model.<dotted UNet key>` (resolved with this file's UNet keys);
 * refiner `conditioner.embedders.0.model.` -> `conditioner.embedders.1.model.` (OpenCLIP bigG).
 */
export function canonicalKeys(stored: readonly string[]): Map<string, string> {
  const dotless = new Map<string, string>();
  for (const k of stored) {
    if (!k.startsWith('model.diffusion_model.')) continue;
    const rest = k.slice('model.diffusion_model.'.length);
    const d = 'model_ema.' + ('diffusion_model.' + rest).split('.').join('');
    if (dotless.has(d) && dotless.get(d) !== rest) throw new Error(`oracle: ambiguous EMA shadow name ${d}`);
    dotless.set(d, rest);
  }
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const k of stored) {
    let c = k;
    if (k.startsWith('cond_stage_model.transformer.') && !k.startsWith('cond_stage_model.transformer.text_model.')) {
      c = 'cond_stage_model.transformer.text_model.' + k.slice('cond_stage_model.transformer.'.length);
    } else if (k.startsWith('conditioner.embedders.0.model.')) {
      c = 'conditioner.embedders.1.model.' + k.slice('conditioner.embedders.0.model.'.length);
    } else if (dotless.has(k)) {
      c = 'model_ema.diffusion_model.' + dotless.get(k)!;
    }
    if (taken.has(c)) throw new Error(`oracle: two keys map to ${c}`);
    taken.add(c);
    out.set(k, c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function loadModel(path: string): OracleModel {
  const buf = readFileSync(path);
  if (buf.subarray(0, 4).toString('latin1') === 'GGUF') return ggufModel(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const data = 8 + n;
  const metadata = (header['__metadata__'] ?? {}) as Record<string, string>;
  const quant = oracleSafetensorsQuant(header as Record<string, HeaderEntry>, buf, data);
  const entries = Object.entries(header)
    .filter(([k]) => k !== '__metadata__' && !quant.consumed.has(k))
    .map(([k, v]) => [k, v as HeaderEntry] as const)
    .sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  const storedNames = entries.map(([k]) => k);
  const family = oracleFamily(storedNames);
  const canon = family === 'sd' ? canonicalKeys(storedNames) : ditKeys(storedNames);
  const tensors = new Map<string, OracleTensor>();
  for (const [stored, e] of entries) {
    const key = canon.get(stored)!;
    const q = quant.replaced.get(stored);
    if (q) {
      tensors.set(key, { key, stored, component: oracleComponent(key, family), shape: q.shape.slice(), dtype: q.dtype, values: q.values, bytes: q.bytes });
      continue;
    }
    const [b0, b1] = e.data_offsets;
    const numel = e.shape.reduce((p, d) => p * d, 1);
    const size = SIZES[e.dtype];
    if (size === undefined || b1 - b0 !== numel * size || data + b1 > buf.length) throw new Error(`oracle: bad entry ${stored} in ${path}`);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + data + b0, b1 - b0);
    tensors.set(key, { key, stored, component: oracleComponent(key, family), shape: e.shape.slice(), dtype: e.dtype, values: decodeValues(e.dtype, bytes), bytes });
  }
  return { path, file: basename(path), metadata, tensors, kinds: componentKinds(family, tensors) };
}

/** A GGUF file (oracle/quantised.ts reads it); tensor names are state-dict keys, canonicalised as for safetensors. */
function ggufModel(path: string): OracleModel {
  const g = loadGgufOracle(path);
  const names = g.tensors.map((t) => t.name);
  const family = oracleFamily(names);
  const canon = family === 'sd' ? canonicalKeys(names) : ditKeys(names);
  const tensors = new Map<string, OracleTensor>();
  for (const t of g.tensors) {
    const key = canon.get(t.name)!;
    tensors.set(key, { key, stored: t.name, component: oracleComponent(key, family), shape: t.shape, dtype: t.type, values: t.values, bytes: t.bytes });
  }
  return { path, file: basename(path), metadata: g.metadata, tensors, kinds: componentKinds(family, tensors) };
}

export function loadModels(paths: readonly string[]): OracleModel[] {
  return paths.map(loadModel);
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

class Neumaier {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

export interface OracleKeyDiff {
  key: string;
  component: OracleComponent;
  /** sum (a - b)^2; NaN when non-finite */
  d2: number;
  dot: number;
  na2: number;
  nb2: number;
  bitIdentical: boolean;
  /** every element equal (-0 == 0); for a key with NaN/Inf: bit-identical */
  equalValues: boolean;
  /** a NaN/Inf on either side */
  nonFinite: boolean;
  dtypeA: string;
  dtypeB: string;
}

/** ComponentDiff of src/shared/result.ts plus the oracle's raw sums. */
export interface OracleComponentDiff extends ComponentDiff {
  sumD2: number;
  sumDot: number;
  sumA2: number;
  sumB2: number;
}

export interface OraclePair {
  a: string;
  b: string;
  components: Partial<Record<OracleComponent, OracleComponentDiff>>;
  /** per shared equal-shape key */
  keys: Map<string, OracleKeyDiff>;
  only_a: string[];
  only_b: string[];
  mismatched: { key: string; a: number[]; b: number[] }[];
  dtype: { key: string; a: string; b: string }[];
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function compareKey(ta: OracleTensor, tb: OracleTensor): OracleKeyDiff {
  const a = ta.values;
  const b = tb.values;
  const d2 = new Neumaier();
  const dot = new Neumaier();
  const na = new Neumaier();
  const nb = new Neumaier();
  let nonFinite = false;
  let equal = true;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) equal = false;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      nonFinite = true;
      continue;
    }
    const d = x - y;
    d2.add(d * d);
    dot.add(x * y);
    na.add(x * x);
    nb.add(y * y);
  }
  const bitIdentical = ta.dtype === tb.dtype && sameBytes(ta.bytes, tb.bytes);
  return {
    key: ta.key,
    component: ta.component,
    d2: nonFinite ? NaN : d2.value,
    dot: nonFinite ? NaN : dot.value,
    na2: nonFinite ? NaN : na.value,
    nb2: nonFinite ? NaN : nb.value,
    bitIdentical,
    // a key holding NaN/Inf counts as equal only when bit-identical (src/shared/result.ts: ComponentDiff.non_finite)
    equalValues: nonFinite ? bitIdentical : equal,
    nonFinite,
    dtypeA: ta.dtype,
    dtypeB: tb.dtype,
  };
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Compares two models key by key (canonical keys) and sums per component. */
export function comparePair(A: OracleModel, B: OracleModel): OraclePair {
  const keys = new Map<string, OracleKeyDiff>();
  const only_a: string[] = [];
  const only_b: string[] = [];
  const mismatched: OraclePair['mismatched'] = [];
  const dtype: OraclePair['dtype'] = [];
  type Acc = {
    inA: number;
    inB: number;
    shared: number;
    only_a: number;
    only_b: number;
    mismatched: number;
    dtype_diff: number;
    changed: number;
    non_finite: number;
    finiteShared: number;
    allBitIdentical: boolean;
    allEqual: boolean;
    d2: Neumaier;
    dot: Neumaier;
    a2: Neumaier;
    b2: Neumaier;
  };
  const acc = new Map<OracleComponent, Acc>();
  const get = (c: OracleComponent): Acc => {
    let x = acc.get(c);
    if (!x) {
      x = { inA: 0, inB: 0, shared: 0, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0, changed: 0, non_finite: 0, finiteShared: 0, allBitIdentical: true, allEqual: true, d2: new Neumaier(), dot: new Neumaier(), a2: new Neumaier(), b2: new Neumaier() };
      acc.set(c, x);
    }
    return x;
  };
  // components present in both models whose architectures differ: nothing of theirs is compared
  const different = new Set<OracleComponent>();
  for (const [c, kind] of A.kinds) if (B.kinds.has(c) && B.kinds.get(c) !== kind) different.add(c);
  for (const [k, ta] of A.tensors) {
    const tb0 = B.tensors.get(k);
    if (tb0 && tb0.component !== ta.component) (different.add(ta.component), different.add(tb0.component));
  }
  for (const [k, ta] of A.tensors) {
    const c = get(ta.component);
    c.inA++;
    const tb = different.has(ta.component) ? undefined : B.tensors.get(k);
    if (!tb) {
      only_a.push(k);
      c.only_a++;
      continue;
    }
    if (ta.dtype !== tb.dtype) {
      dtype.push({ key: k, a: ta.dtype, b: tb.dtype });
      c.dtype_diff++;
    }
    if (!sameShape(ta.shape, tb.shape)) {
      mismatched.push({ key: k, a: ta.shape, b: tb.shape });
      c.mismatched++;
      c.allBitIdentical = false;
      continue;
    }
    const d = compareKey(ta, tb);
    keys.set(k, d);
    c.shared++;
    if (!d.bitIdentical) c.allBitIdentical = false;
    if (!d.equalValues) {
      c.allEqual = false;
      c.changed++;
    }
    if (d.nonFinite) {
      c.non_finite++;
      continue;
    }
    c.finiteShared++;
    c.d2.add(d.d2);
    c.dot.add(d.dot);
    c.a2.add(d.na2);
    c.b2.add(d.nb2);
  }
  for (const [k, tb] of B.tensors) {
    const c = get(tb.component);
    c.inB++;
    if (different.has(tb.component) || !A.tensors.has(k)) {
      only_b.push(k);
      c.only_b++;
    }
  }
  const components: OraclePair['components'] = {};
  for (const comp of ORACLE_COMPONENTS) {
    const c = acc.get(comp);
    if (!c) continue;
    let status: ComponentStatus;
    const comparable = c.finiteShared > 0;
    const identical = c.inA > 0 && c.inB > 0 && c.only_a === 0 && c.only_b === 0 && c.mismatched === 0 && c.allBitIdentical;
    const equalValues = c.shared > 0 && c.allEqual;
    if (c.inB === 0) status = 'only_in_a';
    else if (c.inA === 0) status = 'only_in_b';
    else if (c.shared === 0) status = 'not_comparable';
    else if (identical) status = 'identical';
    else if (equalValues) status = 'equal_values';
    else if (comparable) status = 'changed';
    else status = 'not_comparable'; // only non-finite shared keys: no distance (l2 null)
    const sumD2 = c.d2.value;
    const sumA2 = c.a2.value;
    const sumB2 = c.b2.value;
    const sumDot = c.dot.value;
    const differentArch = c.inA > 0 && c.inB > 0 && different.has(comp);
    if (differentArch) status = 'not_comparable';
    components[comp] = {
      status,
      ...(differentArch ? { reason: 'different_architectures' as const } : {}),
      l2: comparable ? Math.sqrt(sumD2) : null,
      cosine: comparable && sumA2 > 0 && sumB2 > 0 ? sumDot / Math.sqrt(sumA2 * sumB2) : null,
      identical,
      equal_values: equalValues,
      shared: c.shared,
      only_a: c.only_a,
      only_b: c.only_b,
      mismatched: c.mismatched,
      dtype_diff: c.dtype_diff,
      changed: c.changed,
      non_finite: c.non_finite,
      // every dtype the fixtures write has arithmetic here: none is compared by bytes only
      bytes_only: 0,
      sumD2,
      sumDot,
      sumA2,
      sumB2,
    };
  }
  return { a: A.file, b: B.file, components, keys, only_a, only_b, mismatched, dtype };
}

/** The notebook's model map: `ml` file names, `dm[component]` the symmetric NxN L2 matrix (null: not comparable). */
export function modelMap(input: readonly string[] | readonly OracleModel[]): { ml: string[]; dm: Partial<Record<OracleComponent, (number | null)[][]>> } {
  const models = input.map((m) => (typeof m === 'string' ? loadModel(m) : m));
  const present = ORACLE_COMPONENTS.filter((c) => models.some((m) => [...m.tensors.values()].some((t) => t.component === c)));
  const n = models.length;
  const dm: Partial<Record<OracleComponent, (number | null)[][]>> = {};
  for (const c of present) dm[c] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : null)));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const p = comparePair(models[i]!, models[j]!);
      for (const c of present) {
        const l2 = p.components[c]?.l2 ?? null;
        dm[c]![i]![j] = l2;
        dm[c]![j]![i] = l2;
      }
    }
  }
  return { ml: models.map((m) => m.file), dm };
}
