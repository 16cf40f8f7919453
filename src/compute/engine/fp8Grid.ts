/**
 * Whether 16-bit floats sit on an fp8 grid, and whether plain fp8 codes reach the format's largest value: the two
 * facts behind the health findings "an fp8 model stored as F16/BF16" and "scaled fp8 whose scales are missing".
 * Both are checked on the raw little-endian bytes the engine reads anyway, and stop at the first element that
 * settles them (a real 16-bit tensor fails on its first few values), so they cost nothing on ordinary models.
 */

/** Bit of a member's fp8 flags: every value is exactly a float8 e4m3fn value (OCP FP8, max 448, no infinities). */
export const FP8_E4M3FN = 1;
/** Every value is exactly a float8 e5m2 value (IEEE-like, max 57344). */
export const FP8_E5M2 = 2;

/** Exactly representable with `mantissa` fraction bits, normal exponents from `minExp`, finite values up to `max`. */
function onGrid(x: number, mantissa: number, minExp: number, max: number): boolean {
  if (x === 0) return true;
  const a = Math.abs(x);
  if (!Number.isFinite(a) || a > max) return false;
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  e = Math.max(e, minExp);
  const quantum = 2 ** (e - mantissa);
  return Number.isInteger(a / quantum);
}

function fp8Bits(x: number): number {
  return (onGrid(x, 3, -6, 448) ? FP8_E4M3FN : 0) | (onGrid(x, 2, -14, 57344) ? FP8_E5M2 : 0);
}

function half(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

function bfloat(h: number): number {
  const e = (h >> 7) & 255;
  const m = h & 127;
  const v = e === 0 ? m * 2 ** -133 : e === 255 ? (m ? NaN : Infinity) : (1 + m / 128) * 2 ** (e - 127);
  return h & 0x8000 ? -v : v;
}

let tables: { F16: Uint8Array; BF16: Uint8Array } | undefined;

/** fp8 flags of every 16-bit code, built once (two 64 KiB tables). */
function grid(): { F16: Uint8Array; BF16: Uint8Array } {
  if (!tables) {
    const F16 = new Uint8Array(65536);
    const BF16 = new Uint8Array(65536);
    for (let c = 0; c < 65536; c++) {
      F16[c] = fp8Bits(half(c));
      BF16[c] = fp8Bits(bfloat(c));
    }
    tables = { F16, BF16 };
  }
  return tables;
}

/** The dtypes whose values can be found on an fp8 grid. */
export function isHalfDtype(dtype: string): dtype is 'F16' | 'BF16' {
  return dtype === 'F16' || dtype === 'BF16';
}

/**
 * The flags (FP8_E4M3FN | FP8_E5M2) that still hold after n little-endian 16-bit values at u8[at...], given the
 * flags that held before; returns as soon as none does.
 */
export function fp8GridFlags(dtype: 'F16' | 'BF16', u8: Uint8Array, at: number, n: number, flags: number): number {
  const t = grid()[dtype];
  let f = flags;
  for (let i = 0, p = at; i < n && f !== 0; i++, p += 2) f &= t[u8[p]! | (u8[p + 1]! << 8)]!;
  return f;
}

/** Codes of the largest finite magnitude (e4m3fn 0x7e = 448, e5m2 0x7b = 57344), either sign. */
const MAX_CODES: Record<string, readonly [number, number]> = { F8_E4M3: [0x7e, 0xfe], F8_E5M2: [0x7b, 0xfb] };

export function isPlainFp8(dtype: string): boolean {
  return dtype in MAX_CODES;
}

/** Whether n plain fp8 codes at u8[at...] hold the format's largest finite value (memchr-fast). */
export function reachesFp8Max(dtype: string, u8: Uint8Array, at: number, n: number): boolean {
  const codes = MAX_CODES[dtype];
  if (!codes) return false;
  const b = Buffer.from(u8.buffer, u8.byteOffset + at, n);
  return b.indexOf(codes[0]) >= 0 || b.indexOf(codes[1]) >= 0;
}
