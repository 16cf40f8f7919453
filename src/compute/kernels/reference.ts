import { binary16, bfloat16, float8e4m3fn, float8e5m2 } from './floatFormats';
import type { GgmlQuantType } from '../quant/encoding';
import { dequant4bitRef, dequantGgmlRef, dequantScaledFp8Ref } from '../quant/dequantRef';
import { GRAM_F32_CHAIN, PAIR_SUB_COLUMNS, ROW_PRODUCT_PIECE, type Kernels } from './types';

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

  pairBlock(rows: number, stride: number, col0: number, n: number, _nRows: number, _packed: number, II: number, ni: number, JJ: number, nj: number, tri: number, D: number, dStride: number): void {
    const f = this.f32();
    const g = this.f64();
    const list = new Int32Array(this.buffer);
    for (let sub = 0; sub < n; sub += PAIR_SUB_COLUMNS) {
      const width = Math.min(PAIR_SUB_COLUMNS, n - sub);
      for (let a = 0; a < ni; a++) {
        const i = list[II / 4 + a]!;
        for (let b = tri ? a - (a % 4) : 0; b < nj; b++) {
          const j = list[JJ / 4 + b]!;
          const x = rows / 4 + i * stride + col0 + sub;
          const y = rows / 4 + j * stride + col0 + sub;
          g[D / 8 + i * dStride + j] += laneSums(f, x, y, width);
        }
      }
    }
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

/**
 * sum_c (x[c] - y[c])^2 for c < n, as the SIMD kernels sum it: lane l (0..3) takes columns c = l mod 4; per run of
 * 4 * GRAM_F32_CHAIN columns each lane is a float32 running sum of its squares (not fused), the run's lanes are
 * widened as [l0 + l2, l1 + l3] and added to two float64 sums, which end as their sum.
 */
function laneSums(f: Float32Array, x: number, y: number, n: number): number {
  const run = 4 * GRAM_F32_CHAIN;
  let s0 = 0;
  let s1 = 0;
  for (let start = 0; start < n; start += run) {
    const chain = [0, 0, 0, 0];
    const end = Math.min(n, start + run);
    for (let c = start; c < end; c++) {
      const d = Math.fround(f[x + c]! - f[y + c]!);
      chain[c % 4] = Math.fround(chain[c % 4]! + Math.fround(d * d));
    }
    s0 += chain[0]! + chain[2]!;
    s1 += chain[1]! + chain[3]!;
  }
  return s0 + s1;
}
