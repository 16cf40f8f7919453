/**
 * Independent float64 dequantisation for the oracle: GGUF files, ComfyUI scaled fp8 and bitsandbytes 4-bit
 * safetensors, read whole and decoded one element at a time from the block layouts as the zoo note describes them
 * (shared/notes/model-zoo-2026.md). No code is shared with src/.
 *
 * Each element is first computed exactly in float64 (every product here has at most 48 significant bits), then
 * rounded to float32 where the producer rounds: ggml and ComfyUI produce one float32 per element (their
 * intermediate float32 products are exact, so one rounding of the exact value is what they compute);
 * bitsandbytes rounds the product to float32 and then to the quant state's dtype, and its nested absmax twice.
 */
import { readFileSync } from 'node:fs';

const f32 = Math.fround;
/** IEEE binary16 from its two little-endian bytes. */
function half(lo: number, hi: number): number {
  const h = lo | (hi << 8);
  const sign = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** The bit `bit` (0 = least significant) of byte b. */
const bitOf = (b: number, bit: number): number => (b >> bit) & 1;
/** `width` bits of byte b starting at bit `from`. */
const field = (b: number, from: number, width: number): number => (b >> from) & ((1 << width) - 1);

interface BlockFormat {
  elements: number;
  bytes: number;
  /** exact value of element e of the block at byte p */
  value(u: Uint8Array, p: number, e: number): number;
}

/** Element e of a 32-value block packed as 16 bytes of nibbles: e < 16 low nibble of byte e, else high nibble of e-16. */
const nibble32 = (u: Uint8Array, q: number, e: number) => (e < 16 ? field(u[q + e]!, 0, 4) : field(u[q + e - 16]!, 4, 4));

/** Sub-block j (of 8) scale and min of the 12 packed bytes at s (Q4_K/Q5_K): bytes 0-3 scales 0-3 and the top bits of
 *  scales 4-7, bytes 4-7 mins 0-3 and the top bits of mins 4-7, bytes 8-11 low nibbles of scale (low) and min (high) 4-7. */
function k4(u: Uint8Array, s: number, j: number): { scale: number; min: number } {
  if (j < 4) return { scale: field(u[s + j]!, 0, 6), min: field(u[s + 4 + j]!, 0, 6) };
  const i = j - 4;
  return { scale: field(u[s + 8 + i]!, 0, 4) + 16 * field(u[s + i]!, 6, 2), min: field(u[s + 8 + i]!, 4, 4) + 16 * field(u[s + 4 + i]!, 6, 2) };
}

/** A 2-bit code of a 256-value K block stored as 64 bytes: 32-byte half h = e div 128, shift 2 * ((e div 32) mod 4). */
const crumb256 = (u: Uint8Array, q: number, e: number) => field(u[q + 32 * Math.floor(e / 128) + (e % 32)]!, 2 * (Math.floor(e / 32) % 4), 2);

const FORMATS: Record<string, BlockFormat> = {
  Q8_0: { elements: 32, bytes: 34, value: (u, p, e) => half(u[p]!, u[p + 1]!) * ((u[p + 2 + e]! << 24) >> 24) },
  Q4_0: { elements: 32, bytes: 18, value: (u, p, e) => half(u[p]!, u[p + 1]!) * (nibble32(u, p + 2, e) - 8) },
  Q4_1: { elements: 32, bytes: 20, value: (u, p, e) => half(u[p]!, u[p + 1]!) * nibble32(u, p + 4, e) + half(u[p + 2]!, u[p + 3]!) },
  Q5_0: {
    elements: 32,
    bytes: 22,
    value: (u, p, e) => half(u[p]!, u[p + 1]!) * (nibble32(u, p + 6, e) + 16 * bitOf(u[p + 2 + Math.floor(e / 8)]!, e % 8) - 16),
  },
  Q5_1: {
    elements: 32,
    bytes: 24,
    value: (u, p, e) => half(u[p]!, u[p + 1]!) * (nibble32(u, p + 8, e) + 16 * bitOf(u[p + 4 + Math.floor(e / 8)]!, e % 8)) + half(u[p + 2]!, u[p + 3]!),
  },
  Q2_K: {
    elements: 256,
    bytes: 84,
    value: (u, p, e) => {
      const s = u[p + Math.floor(e / 16)]!;
      return half(u[p + 80]!, u[p + 81]!) * field(s, 0, 4) * crumb256(u, p + 16, e) - half(u[p + 82]!, u[p + 83]!) * field(s, 4, 4);
    },
  },
  Q3_K: {
    elements: 256,
    bytes: 110,
    value: (u, p, e) => {
      const j = Math.floor(e / 16);
      const low = j < 8 ? field(u[p + 96 + j]!, 0, 4) : field(u[p + 96 + j - 8]!, 4, 4);
      const high = field(u[p + 96 + 8 + (j % 4)]!, 2 * Math.floor(j / 4), 2);
      const scale = low + 16 * high - 32;
      const q = crumb256(u, p + 32, e) - (bitOf(u[p + (e % 32)]!, Math.floor(e / 32)) ? 0 : 4);
      return half(u[p + 108]!, u[p + 109]!) * scale * q;
    },
  },
  Q4_K: {
    elements: 256,
    bytes: 144,
    value: (u, p, e) => {
      const j = Math.floor(e / 32);
      const { scale, min } = k4(u, p + 4, j);
      const q = field(u[p + 16 + 32 * Math.floor(j / 2) + (e % 32)]!, 4 * (j % 2), 4);
      return half(u[p]!, u[p + 1]!) * scale * q - half(u[p + 2]!, u[p + 3]!) * min;
    },
  },
  Q5_K: {
    elements: 256,
    bytes: 176,
    value: (u, p, e) => {
      const j = Math.floor(e / 32);
      const { scale, min } = k4(u, p + 4, j);
      const q = field(u[p + 48 + 32 * Math.floor(j / 2) + (e % 32)]!, 4 * (j % 2), 4) + 16 * bitOf(u[p + 16 + (e % 32)]!, j);
      return half(u[p]!, u[p + 1]!) * scale * q - half(u[p + 2]!, u[p + 3]!) * min;
    },
  },
  Q6_K: {
    elements: 256,
    bytes: 210,
    value: (u, p, e) => {
      // 128-value halves; in each, 64 bytes of low nibbles (values 0-63 low, 64-127 high) and 32 bytes of 2-bit parts
      const h = Math.floor(e / 128);
      const r = e % 128;
      const low = field(u[p + 64 * h + (r % 64)]!, 4 * Math.floor(r / 64), 4);
      const hi2 = field(u[p + 128 + 32 * h + (r % 32)]!, 2 * Math.floor(r / 32), 2);
      const scale = (u[p + 192 + Math.floor(e / 16)]! << 24) >> 24;
      return half(u[p + 208]!, u[p + 209]!) * scale * (low + 16 * hi2 - 32);
    },
  },
};

export const ORACLE_GGML_TYPES = Object.keys(FORMATS);

/** Every value of `bytes` (whole blocks of `type`) as float32 values held in float64. */
export function oracleDequantGgml(type: string, bytes: Uint8Array): Float64Array {
  const f = FORMATS[type];
  if (!f) throw new Error(`oracle: no ${type}`);
  const blocks = bytes.length / f.bytes;
  const out = new Float64Array(blocks * f.elements);
  for (let b = 0; b < blocks; b++) for (let e = 0; e < f.elements; e++) out[b * f.elements + e] = f32(f.value(bytes, b * f.bytes, e));
  return out;
}

/** fp8 code value (OCP e4m3fn / e5m2), from its fields. */
export function fp8Value(c: number, kind: 'F8_E4M3' | 'F8_E5M2'): number {
  const [eb, mb, bias] = kind === 'F8_E4M3' ? [4, 3, 7] : [5, 2, 15];
  const sign = bitOf(c, 7) ? -1 : 1;
  const e = field(c, mb, eb);
  const m = field(c, 0, mb);
  if (kind === 'F8_E4M3' && e === 15 && m === 7) return NaN;
  if (kind === 'F8_E5M2' && e === 31) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * m * 2 ** (1 - bias - mb) : sign * (2 ** mb + m) * 2 ** (e - bias - mb);
}

export function oracleScaledFp8(codes: Uint8Array, kind: 'F8_E4M3' | 'F8_E5M2', scale: number): Float64Array {
  return Float64Array.from(codes, (c) => f32(fp8Value(c, kind) * scale));
}

// bitsandbytes 4-bit

const NF4 = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];
/** bitsandbytes FP4: 1 sign bit, 2 exponent bits, 1 mantissa bit, magnitudes {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12 in float32. */
const FP4 = Array.from({ length: 16 }, (_, c) => {
  const mag = [0, 0.0625, 8, 12, 4, 6, 2, 3][c & 7]!;
  return (c & 8 ? -1 : 1) * f32(mag / 12);
});

export interface OracleBnb {
  kind: 'nf4' | 'fp4';
  blocksize: number;
  outDtype: 'float32' | 'float16' | 'bfloat16';
  numel: number;
  codes: Uint8Array;
  /** float32 absmax per block, or the nested description */
  absmax: Float32Array | { codes: Uint8Array; absmax: Float32Array; codeBook: Float32Array; offset: number; blocksize: number };
}

export function oracleBnb(q: OracleBnb): Float64Array {
  const table = (q.kind === 'nf4' ? NF4 : FP4).map(f32);
  const absmaxOf = (b: number): number => {
    if (q.absmax instanceof Float32Array) return q.absmax[b]!;
    const n = q.absmax;
    return f32(f32(n.codeBook[n.codes[b]!]! * n.absmax[Math.floor(b / n.blocksize)]!) + f32(n.offset));
  };
  const out = new Float64Array(q.numel);
  for (let i = 0; i < q.numel; i++) {
    const byte = q.codes[Math.floor(i / 2)]!;
    const code = i % 2 === 0 ? field(byte, 4, 4) : field(byte, 0, 4);
    const v = f32(table[code]! * absmaxOf(Math.floor(i / q.blocksize)));
    out[i] = q.outDtype === 'float16' ? nearestHalf(v) : q.outDtype === 'bfloat16' ? nearestBFloat16(v) : v;
  }
  return out;
}

/** Every finite non-negative float16 value, ascending (for nearest-value rounding). */
const HALVES = Float64Array.from({ length: 0x7c00 }, (_, bits) => half(bits & 255, bits >> 8));

function nearestHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let lo = 0;
  let hi = HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (HALVES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - HALVES[lo]!;
  const dh = HALVES[hi]! - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return Math.sign(x) * HALVES[pick]!;
}

function nearestBFloat16(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const down = bits - (bits % 65536);
  const toF = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;
  const a = toF(down);
  const b = toF(down + 65536);
  const da = Math.abs(x - a);
  const db = Math.abs(b - x);
  return da < db ? a : db < da ? b : (down / 65536) % 2 === 0 ? a : b;
}

// ---------------------------------------------------------------------------------------------------------------
// Whole GGUF files

export interface OracleGgufTensor {
  name: string;
  type: string;
  shape: number[];
  values: Float64Array;
  bytes: Uint8Array;
}

function plainValues(dtype: string, b: Uint8Array): Float64Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (dtype) {
    case 'F32':
      return Float64Array.from({ length: b.length / 4 }, (_, i) => dv.getFloat32(4 * i, true));
    case 'F16':
      return Float64Array.from({ length: b.length / 2 }, (_, i) => half(b[2 * i]!, b[2 * i + 1]!));
    case 'BF16':
      return Float64Array.from({ length: b.length / 2 }, (_, i) => new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) * 65536]).buffer)[0]!);
    case 'I8':
      return Float64Array.from({ length: b.length }, (_, i) => dv.getInt8(i));
    case 'I32':
      return Float64Array.from({ length: b.length / 4 }, (_, i) => dv.getInt32(4 * i, true));
    default:
      return Float64Array.from({ length: b.length / 8 }, (_, i) => dv.getFloat64(8 * i, true));
  }
}

const PLAIN: Record<number, [string, number]> = { 0: ['F32', 4], 1: ['F16', 2], 30: ['BF16', 2], 24: ['I8', 1], 26: ['I32', 4], 28: ['F64', 8] };
const QUANT_IDS: Record<number, string> = { 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K' };

/** Reads a (well-formed) GGUF file whole: metadata strings/numbers, tensors with their values. */
export function loadGgufOracle(path: string): { metadata: Record<string, string>; tensors: OracleGgufTensor[] } {
  const buf = readFileSync(path);
  let p = 4;
  const u32 = () => ((p += 4), buf.readUInt32LE(p - 4));
  const u64 = () => ((p += 8), Number(buf.readBigUInt64LE(p - 8)));
  const str = () => {
    const n = u64();
    p += n;
    return buf.toString('utf8', p - n, p);
  };
  const version = u32();
  if (version !== 3 && version !== 2) throw new Error(`oracle: GGUF version ${version}`);
  const nt = u64();
  const nkv = u64();
  const SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
  const readValue = (t: number): unknown => {
    switch (t) {
      case 8:
        return str();
      case 9: {
        const it = u32();
        const n = u64();
        return Array.from({ length: n }, () => readValue(it));
      }
      default: {
        const at = p;
        p += SIZE[t]!;
        return [
          () => buf.readUInt8(at),
          () => buf.readInt8(at),
          () => buf.readUInt16LE(at),
          () => buf.readInt16LE(at),
          () => buf.readUInt32LE(at),
          () => buf.readInt32LE(at),
          () => buf.readFloatLE(at),
          () => buf.readUInt8(at) === 1,
          null,
          null,
          () => buf.readBigUInt64LE(at),
          () => buf.readBigInt64LE(at),
          () => buf.readDoubleLE(at),
        ][t]!();
      }
    }
  };
  const kv = new Map<string, unknown>();
  for (let i = 0; i < nkv; i++) {
    const k = str();
    kv.set(k, readValue(u32()));
  }
  const infos = Array.from({ length: nt }, () => {
    const name = str();
    const nd = u32();
    const dims = Array.from({ length: nd }, u64);
    return { name, dims, type: u32(), offset: u64() };
  });
  const align = (kv.get('general.alignment') as number | undefined) ?? 32;
  const data = Math.ceil(p / align) * align;
  const metadata: Record<string, string> = {};
  for (const [k, v] of kv) if (!k.startsWith('comfy.gguf.orig_shape.') && !Array.isArray(v)) metadata[k] = String(v);
  const tensors = infos.map((t) => {
    const numel = t.dims.reduce((a, d) => a * d, 1);
    const orig = kv.get(`comfy.gguf.orig_shape.${t.name}`) as number[] | undefined;
    const shape = orig ? orig.map(Number) : t.dims.slice().reverse();
    const plain = PLAIN[t.type];
    const quant = QUANT_IDS[t.type];
    if (!plain && !quant) throw new Error(`oracle: ggml type ${t.type}`);
    const nbytes = plain ? numel * plain[1] : (numel / FORMATS[quant!]!.elements) * FORMATS[quant!]!.bytes;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + data + t.offset, nbytes);
    const values = plain ? plainValues(plain[0], bytes) : oracleDequantGgml(quant!, bytes);
    return { name: t.name, type: plain ? plain[0] : quant!, shape, values, bytes };
  });
  return { metadata, tensors };
}

// ---------------------------------------------------------------------------------------------------------------
// Quantised safetensors (as the fixtures write them)

export interface OracleQuantEntry {
  dtype: string;
  shape: number[];
  values: Float64Array;
  /** every stored byte the values depend on (codes, then scale or absmax...), for bit identity */
  bytes: Uint8Array;
}

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * The quantised weights of a safetensors file (scaled fp8 with scale_weight or weight_scale; bitsandbytes 4-bit)
 * dequantised, and the names of the auxiliary tensors they consume.
 */
export function oracleSafetensorsQuant(header: Record<string, Entry>, buf: Uint8Array, data: number): { replaced: Map<string, OracleQuantEntry>; consumed: Set<string> } {
  const bytesOf = (name: string): Uint8Array => {
    const e = header[name]!;
    return buf.subarray(data + e.data_offsets[0], data + e.data_offsets[1]);
  };
  const floats = (name: string): Float32Array => new Float32Array(Uint8Array.from(bytesOf(name)).buffer);
  const replaced = new Map<string, OracleQuantEntry>();
  const consumed = new Set<string>();
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  for (const name of names) {
    const m = /^(.*)\.quant_state\.bitsandbytes__(nf4|fp4)$/.exec(name);
    if (!m) continue;
    const w = m[1]!;
    const state = JSON.parse(new TextDecoder().decode(bytesOf(name))) as Record<string, unknown>;
    const shape = state['shape'] as number[];
    const nested = `${w}.nested_absmax` in header;
    const aux = [name, `${w}.absmax`, `${w}.quant_map`, ...(nested ? [`${w}.nested_absmax`, `${w}.nested_quant_map`] : [])];
    aux.forEach((a) => consumed.add(a));
    const q: OracleBnb = {
      kind: m[2] as 'nf4' | 'fp4',
      blocksize: state['blocksize'] as number,
      outDtype: state['dtype'] as OracleBnb['outDtype'],
      numel: shape.reduce((a, d) => a * d, 1),
      codes: bytesOf(w),
      absmax: nested
        ? { codes: bytesOf(`${w}.absmax`), absmax: floats(`${w}.nested_absmax`), codeBook: floats(`${w}.nested_quant_map`), offset: state['nested_offset'] as number, blocksize: state['nested_blocksize'] as number }
        : floats(`${w}.absmax`),
    };
    const bytes = concatBytes([bytesOf(w), bytesOf(`${w}.absmax`), ...(nested ? [bytesOf(`${w}.nested_absmax`)] : [])]);
    replaced.set(w, { dtype: m[2] === 'nf4' ? 'BNB_NF4' : 'BNB_FP4', shape, values: oracleBnb(q), bytes });
  }
  for (const name of names) {
    const m = /^(.*)\.(scale_weight|weight_scale)$/.exec(name);
    if (!m) continue;
    const w = `${m[1]}.weight`;
    const kind = header[w]!.dtype as 'F8_E4M3' | 'F8_E5M2';
    const scale = floats(name)[0]!;
    consumed.add(name);
    replaced.set(w, { dtype: `${kind}_SCALED`, shape: header[w]!.shape, values: oracleScaledFp8(bytesOf(w), kind, scale), bytes: concatBytes([bytesOf(w), bytesOf(name)]) });
  }
  if (replaced.size) {
    for (const name of names) if (name === 'scaled_fp8' || /\.(comfy_quant|scale_input|input_scale)$/.test(name)) consumed.add(name);
  }
  return { replaced, consumed };
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
