import type { DType } from '../model/dtypes';

/** Dtypes the exact float64 path can decode (everything the float32 kernels cannot take exactly). */
export function decodableToF64(d: DType): boolean {
  return d in DECODERS;
}

type Decoder = (src: DataView, i: number) => number;

const DECODERS: Partial<Record<DType, { size: number; get: Decoder }>> = {
  F64: { size: 8, get: (v, i) => v.getFloat64(i * 8, true) },
  F32: { size: 4, get: (v, i) => v.getFloat32(i * 4, true) },
  F16: { size: 2, get: (v, i) => halfToNumber(v.getUint16(i * 2, true)) },
  BF16: { size: 2, get: (v, i) => bf16ToNumber(v.getUint16(i * 2, true)) },
  I64: { size: 8, get: (v, i) => Number(v.getBigInt64(i * 8, true)) },
  U64: { size: 8, get: (v, i) => Number(v.getBigUint64(i * 8, true)) },
  I32: { size: 4, get: (v, i) => v.getInt32(i * 4, true) },
  U32: { size: 4, get: (v, i) => v.getUint32(i * 4, true) },
  I16: { size: 2, get: (v, i) => v.getInt16(i * 2, true) },
  U16: { size: 2, get: (v, i) => v.getUint16(i * 2, true) },
  I8: { size: 1, get: (v, i) => v.getInt8(i) },
  U8: { size: 1, get: (v, i) => v.getUint8(i) },
  BOOL: { size: 1, get: (v, i) => (v.getUint8(i) !== 0 ? 1 : 0) },
};

/** Decodes `count` elements of little-endian `dtype` bytes into float64 (64-bit integers beyond 2^53 round). */
export function decodeToF64(dtype: DType, bytes: Uint8Array, count: number, out: Float64Array): void {
  if (dtype === 'F16' || dtype === 'BF16') {
    // a table of all 65,536 codes: a lookup per element instead of a decoder call (LoRA factors are mostly these)
    const table = dtype === 'F16' ? (halfTable ??= codeTable(halfToNumber)) : (bf16Table ??= codeTable(bf16ToNumber));
    for (let i = 0; i < count; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
    return;
  }
  const d = DECODERS[dtype];
  if (!d) throw new Error(`no float64 decoder for ${dtype}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * d.size);
  for (let i = 0; i < count; i++) out[i] = d.get(view, i);
}

let halfTable: Float64Array | undefined;
let bf16Table: Float64Array | undefined;

function codeTable(decode: (code: number) => number): Float64Array {
  const t = new Float64Array(65536);
  for (let c = 0; c < 65536; c++) t[c] = decode(c);
  return t;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16ToNumber(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}
