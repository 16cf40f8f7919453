import { binary16, bfloat16, float8e4m3fn, float8e5m2 } from './floatFormats';
import type { GgmlQuantType } from '../quant/encoding';
import { dequant4bitRef, dequantGgmlRef, dequantScaledFp8Ref } from '../quant/dequantRef';
import { GRAM_F32_CHAIN, ROW_PRODUCT_PIECE, type Kernels } from './types';

export { binary16, bfloat16, float8e4m3fn, float8e5m2 } from './floatFormats';

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

  dequantGgml(type: GgmlQuantType, src: number, dst: number, nBlocks: number): void {
    dequantGgmlRef(type, this.u8(), src, this.f32(), dst, nBlocks);
  }

  decodeF8E4M3Scaled(src: number, dst: number, n: number, scale: number): void {
    dequantScaledFp8Ref('F8_E4M3', this.u8(), src, this.f32(), dst, n, scale);
  }

  decodeF8E5M2Scaled(src: number, dst: number, n: number, scale: number): void {
    dequantScaledFp8Ref('F8_E5M2', this.u8(), src, this.f32(), dst, n, scale);
  }

  dequant4bit(src: number, table: number, absmax: number, dst: number, n: number, phase: number, blockShift: number, out: number): void {
    dequant4bitRef(this.u8(), this.f32(), src, table, absmax, dst, n, phase, blockShift, out);
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

  rowProductsF64(A: number, m: number, B: number, n: number, len: number, C: number, ldc: number, upper: number): void {
    const f = this.f64();
    const a = A / 8;
    const b = B / 8;
    const c = C / 8;
    for (let l0 = 0; l0 < len; l0 += ROW_PRODUCT_PIECE) {
      const l1 = Math.min(len, l0 + ROW_PRODUCT_PIECE);
      for (let i = 0; i < m; i++) {
        for (let j = upper ? i : 0; j < n; j++) {
          let even = 0;
          let odd = 0;
          let l = l0;
          for (; l + 1 < l1; l += 2) {
            even += f[a + i * len + l]! * f[b + j * len + l]!;
            odd += f[a + i * len + l + 1]! * f[b + j * len + l + 1]!;
          }
          if (l < l1) even += f[a + i * len + l]! * f[b + j * len + l]!;
          f[c + i * ldc + j] += even + odd;
        }
      }
    }
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
