import { GRAM_F32_CHAIN, type Kernels } from './types';

/**
 * The test oracle: every kernel in plain TypeScript, one element at a time, written to be obviously right rather
 * than fast. Decoders follow the format definitions (not bit tricks); float32 arithmetic is spelled out with
 * Math.fround. Memory is an ArrayBuffer that is replaced by a larger copy when `reserve` grows it, in 64 KiB pages
 * like a WebAssembly memory, up to the same 4 GiB limit.
 */
export function createReferenceKernels(): Kernels {
  return new ReferenceKernels();
}

const PAGE = 65536;
const MAX_BYTES = 2 ** 32;

class ReferenceKernels implements Kernels {
  readonly name = 'reference' as const;
  private buffer = new ArrayBuffer(0);

  reserve(bytes: number): void {
    if (bytes <= this.buffer.byteLength) return;
    if (bytes > MAX_BYTES) throw new RangeError(`cannot reserve ${bytes} bytes: the limit is 4 GiB`);
    const grown = new ArrayBuffer(Math.ceil(bytes / PAGE) * PAGE);
    new Uint8Array(grown).set(new Uint8Array(this.buffer));
    this.buffer = grown;
  }

  u8(): Uint8Array {
    return new Uint8Array(this.buffer);
  }

  f32(): Float32Array {
    return new Float32Array(this.buffer);
  }

  f64(): Float64Array {
    return new Float64Array(this.buffer);
  }

  decodeF16(src: number, dst: number, n: number): void {
    const view = new DataView(this.buffer);
    const out = this.f32();
    for (let i = 0; i < n; i++) out[dst / 4 + i] = binary16(view.getUint16(src + 2 * i, true));
  }

  decodeBF16(src: number, dst: number, n: number): void {
    const view = new DataView(this.buffer);
    const out = this.f32();
    for (let i = 0; i < n; i++) out[dst / 4 + i] = bfloat16(view.getUint16(src + 2 * i, true));
  }

  decodeF8E4M3(src: number, dst: number, n: number): void {
    const bytes = this.u8();
    const out = this.f32();
    for (let i = 0; i < n; i++) out[dst / 4 + i] = float8e4m3fn(bytes[src + i]!);
  }

  decodeF8E5M2(src: number, dst: number, n: number): void {
    const bytes = this.u8();
    const out = this.f32();
    for (let i = 0; i < n; i++) out[dst / 4 + i] = float8e5m2(bytes[src + i]!);
  }

  meanRows(rows: number, m: number, stride: number, col0: number, kb: number, ref: number): void {
    const f = this.f32();
    for (let c = 0; c < kb; c++) {
      let sum = 0;
      for (let i = 0; i < m; i++) sum += f[rows / 4 + i * stride + col0 + c]!;
      f[ref / 4 + c] = sum / m;
    }
  }

  centerPack(rows: number, m: number, stride: number, col0: number, n: number, ref: number, packed: number, mPad: number, kb: number): void {
    const f = this.f32();
    for (let i = 0; i < mPad; i++) {
      for (let c = 0; c < kb; c++) {
        const inside = i < m && c < n;
        f[packed / 4 + i * kb + c] = inside ? Math.fround(f[rows / 4 + i * stride + col0 + c]! - f[ref / 4 + c]!) : 0;
      }
    }
  }

  gramBlock(packed: number, mPad: number, kb: number, G: number): void {
    const f = this.f32();
    const g = this.f64();
    for (let i = 0; i < mPad; i++) {
      for (let j = i; j < mPad; j++) g[G / 8 + i * mPad + j] += runSums(f, packed / 4 + i * kb, packed / 4 + j * kb, kb);
    }
  }

  dotRef(packed: number, mPad: number, kb: number, ref: number, S: number): number {
    const f = this.f32();
    const s = this.f64();
    for (let i = 0; i < mPad; i++) s[S / 8 + i] += runSums(f, packed / 4 + i * kb, ref / 4, kb);
    let refSq = 0;
    for (let c = 0; c < kb; c++) refSq += f[ref / 4 + c]! * f[ref / 4 + c]!;
    return refSq;
  }

  sqDiff(a: number, b: number, n: number): number {
    const f = this.f32();
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const d = f[a / 4 + i]! - f[b / 4 + i]!;
      sum += d * d;
    }
    return sum;
  }

  dot(a: number, b: number, n: number): number {
    const f = this.f32();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += f[a / 4 + i]! * f[b / 4 + i]!;
    return sum;
  }

  pairStats(a: number, b: number, n: number, out: number): void {
    const f = this.f32();
    let sq = 0, l1 = 0, changed = 0, max = 0, ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < n; i++) {
      const x = f[a / 4 + i]!;
      const y = f[b / 4 + i]!;
      const d = Math.abs(x - y);
      sq += d * d;
      l1 += d;
      if (x !== y) changed++;
      max = Math.max(max, d);
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    this.f64().set([sq, l1, changed, max, ab, aa, bb], out / 8);
  }
}

/** sum_c x[c] * y[c] for c < n: float32 running sums over chains of GRAM_F32_CHAIN columns, added in float64. */
function runSums(f: Float32Array, x: number, y: number, n: number): number {
  let total = 0;
  for (let start = 0; start < n; start += GRAM_F32_CHAIN) {
    let chain = 0;
    const end = Math.min(n, start + GRAM_F32_CHAIN);
    for (let c = start; c < end; c++) chain = Math.fround(chain + Math.fround(f[x + c]! * f[y + c]!));
    total += chain;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders from the format definitions: value = (-1)^sign * 2^(exponent - bias) * (1 + mantissa / 2^bits) for
// normal numbers, (-1)^sign * 2^(1 - bias) * (mantissa / 2^bits) for exponent 0. All results are exact in float64
// and in float32.

function fromFields(sign: number, exponent: number, mantissa: number, mantissaBits: number, bias: number): number {
  const s = sign ? -1 : 1;
  const fraction = mantissa / 2 ** mantissaBits;
  if (exponent === 0) return s * 2 ** (1 - bias) * fraction;
  return s * 2 ** (exponent - bias) * (1 + fraction);
}

/** IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; exponent 31 is infinity or NaN. */
export function binary16(code: number): number {
  const sign = code >> 15, exponent = (code >> 10) & 0x1f, mantissa = code & 0x3ff;
  if (exponent === 0x1f) return mantissa ? NaN : sign ? -Infinity : Infinity;
  return fromFields(sign, exponent, mantissa, 10, 15);
}

/** bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits; exponent 255 is infinity or NaN. */
export function bfloat16(code: number): number {
  const sign = code >> 15, exponent = (code >> 7) & 0xff, mantissa = code & 0x7f;
  if (exponent === 0xff) return mantissa ? NaN : sign ? -Infinity : Infinity;
  return fromFields(sign, exponent, mantissa, 7, 127);
}

/** OCP FP8 E4M3 ("fn"): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, S.1111.111 is NaN, max 448. */
export function float8e4m3fn(code: number): number {
  const sign = code >> 7, exponent = (code >> 3) & 0xf, mantissa = code & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  return fromFields(sign, exponent, mantissa, 3, 7);
}

/** OCP FP8 E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits, IEEE-like; exponent 31 is infinity or NaN. */
export function float8e5m2(code: number): number {
  const sign = code >> 7, exponent = (code >> 2) & 0x1f, mantissa = code & 0x3;
  if (exponent === 0x1f) return mantissa ? NaN : sign ? -Infinity : Infinity;
  return fromFields(sign, exponent, mantissa, 2, 15);
}
