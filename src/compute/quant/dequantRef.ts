/**
 * The dequantisers in plain TypeScript: the reference the WebAssembly kernels must match bit for bit, and what the
 * 'reference' kernels run. Each follows its producer's float32 arithmetic step by step (Math.fround after every
 * operation ggml or bitsandbytes does in float32), one element at a time.
 *
 * Memory is the caller's: codes at byte `src` of `u8`, float32 results from byte `dst` (4-aligned) of the same
 * buffer seen as float32.
 */
import { binary16, float8e4m3fn, float8e5m2 } from '../kernels/floatFormats';
import type { Bnb4bitEncoding, GgmlQuantType } from './encoding';
import { bnbBlocks } from './layout';

const fr = Math.fround;

/** Dequantises `nBlocks` consecutive ggml blocks of `type`. */
export function dequantGgmlRef(type: GgmlQuantType, u8: Uint8Array, src: number, f32: Float32Array, dst: number, nBlocks: number): void {
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const h = (at: number) => binary16(dv.getUint16(at, true));
  const block = BLOCKS[type];
  for (let b = 0; b < nBlocks; b++) block.decode(u8, dv, h, src + b * block.bytes, f32, dst / 4 + b * block.elements);
}

type BlockDecoder = (u8: Uint8Array, dv: DataView, h: (at: number) => number, p: number, out: Float32Array, o: number) => void;

const BLOCKS: Record<GgmlQuantType, { elements: number; bytes: number; decode: BlockDecoder }> = {
  Q4_0: {
    elements: 32,
    bytes: 18,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p);
      for (let e = 0; e < 32; e++) out[o + e] = fr(d * (((u8[p + 2 + (e & 15)]! >> (4 * (e >> 4))) & 15) - 8));
    },
  },
  Q4_1: {
    elements: 32,
    bytes: 20,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p);
      const m = h(p + 2);
      for (let e = 0; e < 32; e++) out[o + e] = fr(fr(d * ((u8[p + 4 + (e & 15)]! >> (4 * (e >> 4))) & 15)) + m);
    },
  },
  Q5_0: {
    elements: 32,
    bytes: 22,
    decode: (u8, dv, h, p, out, o) => {
      const d = h(p);
      const qh = dv.getUint32(p + 2, true);
      for (let e = 0; e < 32; e++) {
        const q = ((u8[p + 6 + (e & 15)]! >> (4 * (e >> 4))) & 15) | (((qh >>> e) & 1) << 4);
        out[o + e] = fr(d * (q - 16));
      }
    },
  },
  Q5_1: {
    elements: 32,
    bytes: 24,
    decode: (u8, dv, h, p, out, o) => {
      const d = h(p);
      const m = h(p + 2);
      const qh = dv.getUint32(p + 4, true);
      for (let e = 0; e < 32; e++) {
        const q = ((u8[p + 8 + (e & 15)]! >> (4 * (e >> 4))) & 15) | (((qh >>> e) & 1) << 4);
        out[o + e] = fr(fr(d * q) + m);
      }
    },
  },
  Q8_0: {
    elements: 32,
    bytes: 34,
    decode: (_u8, dv, h, p, out, o) => {
      const d = h(p);
      for (let e = 0; e < 32; e++) out[o + e] = fr(d * dv.getInt8(p + 2 + e));
    },
  },
  Q2_K: {
    elements: 256,
    bytes: 84,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p + 80);
      const dmin = h(p + 82);
      for (let e = 0; e < 256; e++) {
        const sc = u8[p + (e >> 4)]!;
        const q = (u8[p + 16 + (e >> 7) * 32 + (e & 31)]! >> (2 * ((e >> 5) & 3))) & 3;
        out[o + e] = fr(fr(fr(d * (sc & 15)) * q) - fr(dmin * (sc >> 4)));
      }
    },
  },
  Q3_K: {
    elements: 256,
    bytes: 110,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p + 108);
      const s = p + 96;
      for (let e = 0; e < 256; e++) {
        const j = e >> 4;
        const low = j < 8 ? u8[s + j]! & 15 : u8[s + j - 8]! >> 4;
        const high = (u8[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3;
        const sc = (low | (high << 4)) - 32;
        const ql = (u8[p + 32 + (e >> 7) * 32 + (e & 31)]! >> (2 * ((e >> 5) & 3))) & 3;
        const hbit = (u8[p + (e & 31)]! >> (e >> 5)) & 1;
        out[o + e] = fr(fr(d * sc) * (ql - (hbit ? 0 : 4)));
      }
    },
  },
  Q4_K: {
    elements: 256,
    bytes: 144,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p);
      const dmin = h(p + 2);
      for (let e = 0; e < 256; e++) {
        const [sc, m] = scaleMinK4(u8, p + 4, e >> 5);
        const q = (u8[p + 16 + (e >> 6) * 32 + (e & 31)]! >> (4 * ((e >> 5) & 1))) & 15;
        out[o + e] = fr(fr(fr(d * sc) * q) - fr(dmin * m));
      }
    },
  },
  Q5_K: {
    elements: 256,
    bytes: 176,
    decode: (u8, _dv, h, p, out, o) => {
      const d = h(p);
      const dmin = h(p + 2);
      for (let e = 0; e < 256; e++) {
        const [sc, m] = scaleMinK4(u8, p + 4, e >> 5);
        const ql = (u8[p + 48 + (e >> 6) * 32 + (e & 31)]! >> (4 * ((e >> 5) & 1))) & 15;
        const qh = (u8[p + 16 + (e & 31)]! >> (e >> 5)) & 1;
        out[o + e] = fr(fr(fr(d * sc) * (ql | (qh << 4))) - fr(dmin * m));
      }
    },
  },
  Q6_K: {
    elements: 256,
    bytes: 210,
    decode: (u8, dv, h, p, out, o) => {
      const d = h(p + 208);
      for (let e = 0; e < 256; e++) {
        const half = e >> 7;
        const ql = (u8[p + half * 64 + (e & 63)]! >> (4 * ((e >> 6) & 1))) & 15;
        const qh = (u8[p + 128 + half * 32 + (e & 31)]! >> (2 * ((e >> 5) & 3))) & 3;
        const sc = dv.getInt8(p + 192 + (e >> 4));
        out[o + e] = fr(fr(d * sc) * ((ql | (qh << 4)) - 32));
      }
    },
  },
};

/** Scale and min of sub-block j (0..7) from the 12 packed bytes at s (Q4_K, Q5_K). */
function scaleMinK4(u8: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [u8[s + j]! & 63, u8[s + j + 4]! & 63];
  return [(u8[s + j + 4]! & 15) | ((u8[s + j - 4]! >> 6) << 4), (u8[s + j + 4]! >> 4) | ((u8[s + j]! >> 6) << 4)];
}

/** n fp8 codes times a float32 scale, each product rounded to float32. */
export function dequantScaledFp8Ref(code: 'F8_E4M3' | 'F8_E5M2', u8: Uint8Array, src: number, f32: Float32Array, dst: number, n: number, scale: number): void {
  const decode = code === 'F8_E4M3' ? float8e4m3fn : float8e5m2;
  const s = fr(scale);
  for (let i = 0; i < n; i++) f32[dst / 4 + i] = fr(decode(u8[src + i]!) * s);
}

// ---------------------------------------------------------------------------------------------------------------
// bitsandbytes 4-bit

/** bitsandbytes' NF4 code book (`get_4bit_type('nf4')`), as float32. */
export const NF4_TABLE: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
].map(fr);

/** bitsandbytes' FP4 code book: the e2m1 values {0, 0.0625, 8, 12, 4, 6, 2, 3} and negatives, divided by 12 in float32. */
export const FP4_TABLE: readonly number[] = [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => fr(v / 12));

/** The float32 absmax of the blocks a range touches (bnbBlocks), from its raw buffer at `at` (after the codes). */
export function bnbAbsmax(q: Bnb4bitEncoding, u8: Uint8Array, at: number, start: number, count: number): Float32Array {
  const { b0, b1, n0, absmaxBytesPerBlock } = bnbBlocks(q, start, count);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const out = new Float32Array(b1 - b0);
  if (!q.nested) {
    for (let b = b0; b < b1; b++) out[b - b0] = dv.getFloat32(at + (b - b0) * 4, true);
    return out;
  }
  const nestedAt = at + (b1 - b0) * absmaxBytesPerBlock;
  const nb = q.nested.blockElements;
  const off = fr(q.nested.offset);
  for (let b = b0; b < b1; b++) {
    const scale = dv.getFloat32(nestedAt + (Math.floor(b / nb) - n0) * 4, true);
    out[b - b0] = fr(fr(fr(q.nested.code[u8[at + b - b0]!]!) * scale) + off);
  }
  return out;
}

/** Rounding kinds of dequant4bit's `out`: the dtype bitsandbytes returns. */
export const BNB_OUT_KIND: Record<Bnb4bitEncoding['outDtype'], number> = { F32: 0, F16: 1, BF16: 2 };

/** The reference of Kernels.dequant4bit (see there). */
export function dequant4bitRef(u8: Uint8Array, f32: Float32Array, src: number, table: number, absmax: number, dst: number, n: number, phase: number, blockShift: number, out: number): void {
  const round = [ROUND_TO.F32, ROUND_TO.F16, ROUND_TO.BF16][out]!;
  for (let i = 0; i < n; i++) {
    const byte = u8[src + (i >> 1)]!;
    const code = i & 1 ? byte & 15 : byte >> 4;
    f32[dst / 4 + i] = round(fr(f32[table / 4 + code]! * f32[absmax / 4 + ((phase + i) >> blockShift)]!));
  }
}

/** Rounding of a float32 value to the dtype bitsandbytes returns (round to nearest, ties to even). */
export const ROUND_TO: Record<'F32' | 'F16' | 'BF16', (x: number) => number> = {
  F32: (x) => x,
  F16: roundToF16,
  BF16: roundToBF16,
};

const cvt = new Float32Array(1);
const cvtBits = new Uint32Array(cvt.buffer);

export function roundToBF16(x: number): number {
  cvt[0] = x;
  const u = cvtBits[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return NaN;
  cvtBits[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return cvt[0];
}

export function roundToF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  cvt[0] = x;
  const exponent = Math.max(((cvtBits[0]! >>> 23) & 0xff) - 127, -14);
  const quantum = 2 ** (exponent - 10);
  const scaled = Math.abs(x) / quantum;
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  const n = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const r = n * quantum;
  if (r > 65504) return x < 0 ? -Infinity : Infinity;
  return x < 0 ? -r : r;
}
