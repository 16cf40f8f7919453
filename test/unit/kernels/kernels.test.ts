// One table of cases, run against every Kernels implementation. The reference decoders are checked against values
// from the format specifications; everything else is checked against float64 arithmetic done here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binary16, bfloat16, createReferenceKernels, float8e4m3fn, float8e5m2 } from '../../../src/compute/kernels/reference';
import { GRAM_F32_CHAIN, type Kernels } from '../../../src/compute/kernels/types';
import { createWasmKernels, relaxedSimdAvailable } from '../../../src/compute/kernels/wasm';

const IMPLEMENTATIONS: { name: string; create: () => Kernels; skip?: string }[] = [
  { name: 'reference', create: createReferenceKernels },
  { name: 'wasm-simd', create: () => createWasmKernels('wasm-simd') },
  {
    name: 'wasm-simd-fma',
    create: () => createWasmKernels('wasm-simd-fma'),
    ...(relaxedSimdAvailable() ? {} : { skip: 'relaxed SIMD is not available in this runtime' }),
  },
];

const U = 2 ** -24; // unit roundoff of float32

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Hands out 16-byte-aligned addresses, then reserves what was handed out. */
class Layout {
  private next = 0;
  constructor(private readonly k: Kernels, start = 0) {
    this.next = start;
  }
  alloc(bytes: number): number {
    const at = this.next;
    this.next = Math.ceil((at + bytes) / 16) * 16;
    this.k.reserve(this.next);
    return at;
  }
}

/** Deterministic uniform [0, 1) (mulberry32) and standard normal (Box-Muller) numbers. */
function rng(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

function fillNormal(k: Kernels, at: number, n: number, sigma: number, seed: number): void {
  const f = k.f32();
  const r = rng(seed);
  for (let i = 0; i < n; i++) f[at / 4 + i] = sigma * r.normal();
}

function f32Bits(x: number): number {
  const b = new Float32Array([x]);
  return new Uint32Array(b.buffer)[0]!;
}

/** Decodes every code of a `bytes`-wide format through `decode` and compares bit for bit (any NaN matches NaN). */
function checkAllCodes(k: Kernels, bytes: 1 | 2, decode: (src: number, dst: number, n: number) => void, expected: (code: number) => number): void {
  const count = 2 ** (8 * bytes);
  const layout = new Layout(k);
  const src = layout.alloc(count * bytes + 2) + 2; // deliberately not 16-byte aligned
  const dst = layout.alloc(count * 4 + 16);
  const u8 = k.u8();
  for (let code = 0; code < count; code++) {
    u8[src + code * bytes] = code & 0xff;
    if (bytes === 2) u8[src + code * bytes + 1] = code >> 8;
  }
  k.f32()[dst / 4 + count] = 12345; // guard
  decode.call(k, src, dst, count);
  const f = k.f32();
  for (let code = 0; code < count; code++) {
    const got = f[dst / 4 + code]!;
    const want = expected(code);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `code 0x${code.toString(16)}: ${got}, expected NaN`);
    else assert.equal(f32Bits(got), f32Bits(want), `code 0x${code.toString(16)}: ${got}, expected ${want}`);
  }
  assert.equal(f[dst / 4 + count], 12345, 'wrote past the end');
}

/** Short runs of every length and a misaligned start exercise the vector loops' tails. */
function checkTails(k: Kernels, bytes: 1 | 2, decode: (src: number, dst: number, n: number) => void, expected: (code: number) => number): void {
  const layout = new Layout(k);
  const src = layout.alloc(128) + 6;
  const dst = layout.alloc(256);
  const u8 = k.u8();
  const codes = Array.from({ length: 40 }, (_, i) => (i * 0x9e37 + 0x3c11) & (bytes === 2 ? 0x7bff : 0x77));
  codes.forEach((c, i) => {
    u8[src + i * bytes] = c & 0xff;
    if (bytes === 2) u8[src + i * bytes + 1] = c >> 8;
  });
  for (let n = 0; n <= 37; n++) {
    k.f32().fill(-7, dst / 4, dst / 4 + 40);
    decode.call(k, src, dst, n);
    const f = k.f32();
    for (let i = 0; i < n; i++) assert.equal(f[dst / 4 + i], Math.fround(expected(codes[i]!)), `n=${n} i=${i}`);
    for (let i = n; i < 40; i++) assert.equal(f[dst / 4 + i], -7, `n=${n}: wrote element ${i}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const CASES: { name: string; run: (k: Kernels) => void }[] = [
  { name: 'decodeF16: all 65536 codes bit-exact', run: (k) => checkAllCodes(k, 2, k.decodeF16, binary16) },
  { name: 'decodeBF16: all 65536 codes bit-exact', run: (k) => checkAllCodes(k, 2, k.decodeBF16, bfloat16) },
  { name: 'decodeF8E4M3: all 256 codes bit-exact', run: (k) => checkAllCodes(k, 1, k.decodeF8E4M3, float8e4m3fn) },
  { name: 'decodeF8E5M2: all 256 codes bit-exact', run: (k) => checkAllCodes(k, 1, k.decodeF8E5M2, float8e5m2) },
  { name: 'decodeF16: every length 0..37, misaligned source', run: (k) => checkTails(k, 2, k.decodeF16, binary16) },
  { name: 'decodeBF16: every length 0..37, misaligned source', run: (k) => checkTails(k, 2, k.decodeBF16, bfloat16) },
  { name: 'decodeF8E4M3: every length 0..37, misaligned source', run: (k) => checkTails(k, 1, k.decodeF8E4M3, float8e4m3fn) },
  { name: 'decodeF8E5M2: every length 0..37, misaligned source', run: (k) => checkTails(k, 1, k.decodeF8E5M2, float8e5m2) },
  {
    name: 'meanRows: odd m, odd stride and offset, kb not a multiple of 4 (exact: float64 sums in row order)',
    run: (k) => {
      const m = 5, stride = 37, col0 = 3, kb = 13;
      const layout = new Layout(k);
      const rows = layout.alloc(m * stride * 4);
      const ref = layout.alloc((kb + 4) * 4);
      fillNormal(k, rows, m * stride, 0.02, 1);
      k.f32().fill(99, ref / 4, ref / 4 + kb + 4);
      k.meanRows(rows, m, stride, col0, kb, ref);
      const f = k.f32();
      for (let c = 0; c < kb; c++) {
        let sum = 0;
        for (let i = 0; i < m; i++) sum += f[rows / 4 + i * stride + col0 + c]!;
        assert.equal(f[ref / 4 + c], Math.fround(sum / m), `column ${c}`);
      }
      assert.equal(f[ref / 4 + kb], 99, 'wrote past kb');
    },
  },
  {
    name: 'centerPack: odd m, n not a multiple of 4, padding rows and columns zeroed (exact)',
    run: (k) => {
      for (const [m, mPad, n, kb] of [[5, 8, 13, 16], [3, 4, 8, 8], [4, 4, 517, 520], [1, 12, 1, 8]] as const) {
        const stride = n + 11, col0 = 5;
        const layout = new Layout(k);
        const rows = layout.alloc(m * stride * 4);
        const ref = layout.alloc(kb * 4);
        const packed = layout.alloc(mPad * kb * 4 + 16);
        fillNormal(k, rows, m * stride, 0.02, 2);
        fillNormal(k, ref, n, 0.02, 3);
        k.f32().fill(NaN, packed / 4, packed / 4 + mPad * kb);
        k.f32()[packed / 4 + mPad * kb] = 5; // guard
        k.centerPack(rows, m, stride, col0, n, ref, packed, mPad, kb);
        const f = k.f32();
        for (let i = 0; i < mPad; i++) {
          for (let c = 0; c < kb; c++) {
            const want = i < m && c < n ? Math.fround(f[rows / 4 + i * stride + col0 + c]! - f[ref / 4 + c]!) : 0;
            assert.equal(f[packed / 4 + i * kb + c], want, `m=${m} n=${n}: [${i}][${c}]`);
          }
        }
        assert.equal(f[packed / 4 + mPad * kb], 5, 'wrote past the block');
      }
    },
  },
  {
    name: 'gramBlock: adds the upper triangle within the float32 summation bound, leaves the lower one alone',
    run: (k) => {
      for (const [mPad, kb] of [[4, 8], [8, 24], [12, 512], [16, 64]] as const) {
        const layout = new Layout(k);
        const packed = layout.alloc(mPad * kb * 4);
        const G = layout.alloc(mPad * mPad * 8);
        fillNormal(k, packed, mPad * kb, 1, mPad * 1000 + kb);
        const g = k.f64();
        for (let e = 0; e < mPad * mPad; e++) g[G / 8 + e] = 0.5 + e;
        k.gramBlock(packed, mPad, kb, G);
        const f = k.f32();
        const gAfter = k.f64();
        for (let i = 0; i < mPad; i++) {
          for (let j = 0; j < mPad; j++) {
            const got = gAfter[G / 8 + i * mPad + j]! - (0.5 + i * mPad + j);
            if (i > j) {
              assert.equal(got, 0, `lower entry [${i}][${j}] changed`);
              continue;
            }
            let exact = 0, magnitude = 0;
            for (let c = 0; c < kb; c++) {
              const p = f[packed / 4 + i * kb + c]! * f[packed / 4 + j * kb + c]!;
              exact += p;
              magnitude += Math.abs(p);
            }
            // Float32 chains of at most GRAM_F32_CHAIN products: |error| <= chain * u * sum |p| (first order), plus
            // the float64 additions.
            const bound = 1.01 * GRAM_F32_CHAIN * U * magnitude + 1e-12 * Math.abs(0.5 + i * mPad + j);
            assert.ok(Math.abs(got - exact) <= bound, `mPad=${mPad} kb=${kb} [${i}][${j}]: ${got} vs ${exact}`);
          }
        }
      }
    },
  },
  {
    name: 'gramBlock: sums of squares of quantized values (like fp16 differences) are not biased by ties-to-even',
    run: (k) => {
      // Integers of ~11 bits times a power of two: their squares are exact and odd squares are 1 mod 4, so long
      // float32 sums keep rounding ties the same way (-8.6e-7 relative with 128-product chains at scale 460).
      const mPad = 4, kb = 512, blocks = 200;
      const layout = new Layout(k);
      const packed = layout.alloc(mPad * kb * 4);
      const G = layout.alloc(mPad * mPad * 8);
      for (const scale of [460, 1000, 2000]) {
        const r = rng(scale);
        k.f64().fill(0, G / 8, G / 8 + mPad * mPad);
        let exact = 0;
        for (let b = 0; b < blocks; b++) {
          const f = k.f32();
          f.fill(0, packed / 4, packed / 4 + mPad * kb);
          for (let c = 0; c < kb; c++) {
            const d = Math.round(scale * r.normal()) * 2 ** -20;
            f[packed / 4 + c] = d;
            exact += d * d;
          }
          k.gramBlock(packed, mPad, kb, G);
        }
        const error = (k.f64()[G / 8]! - exact) / exact;
        assert.ok(Math.abs(error) < 2e-7, `scale ${scale}: relative error ${error.toExponential(2)}`);
      }
    },
  },
  {
    name: 'dotRef: adds row-by-reference dots, returns the reference norm in float64',
    run: (k) => {
      const mPad = 8, kb = 72;
      const layout = new Layout(k);
      const packed = layout.alloc(mPad * kb * 4);
      const ref = layout.alloc(kb * 4);
      const S = layout.alloc(mPad * 8);
      fillNormal(k, packed, mPad * kb, 1, 11);
      fillNormal(k, ref, kb, 1, 12);
      k.f64().fill(2, S / 8, S / 8 + mPad);
      const refSq = k.dotRef(packed, mPad, kb, ref, S);
      const f = k.f32();
      let exactSq = 0;
      for (let c = 0; c < kb; c++) exactSq += f[ref / 4 + c]! ** 2;
      assert.ok(Math.abs(refSq - exactSq) <= 1e-13 * exactSq, `${refSq} vs ${exactSq}`);
      for (let i = 0; i < mPad; i++) {
        let exact = 0, magnitude = 0;
        for (let c = 0; c < kb; c++) {
          const p = f[packed / 4 + i * kb + c]! * f[ref / 4 + c]!;
          exact += p;
          magnitude += Math.abs(p);
        }
        const got = k.f64()[S / 8 + i]! - 2;
        assert.ok(Math.abs(got - exact) <= 1.01 * GRAM_F32_CHAIN * U * magnitude + 1e-15, `row ${i}: ${got} vs ${exact}`);
      }
    },
  },
  {
    name: 'sqDiff, dot, pairStats: float64 results for random data (n with a tail)',
    run: (k) => {
      const n = 1003;
      const layout = new Layout(k);
      const a = layout.alloc(n * 4), b = layout.alloc(n * 4), out = layout.alloc(8 * 8);
      fillNormal(k, a, n, 0.02, 21);
      fillNormal(k, b, n, 0.02, 22);
      const f = k.f32();
      for (let i = 0; i < n; i += 3) f[b / 4 + i] = f[a / 4 + i]!; // some equal elements
      let sq = 0, l1 = 0, changed = 0, max = 0, ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < n; i++) {
        const x = f[a / 4 + i]!, y = f[b / 4 + i]!;
        sq += (x - y) ** 2;
        l1 += Math.abs(x - y);
        if (x !== y) changed++;
        max = Math.max(max, Math.abs(x - y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
      }
      const close = (got: number, want: number, what: string): void =>
        assert.ok(Math.abs(got - want) <= 1e-13 * Math.abs(want), `${what}: ${got} vs ${want}`);
      close(k.sqDiff(a, b, n), sq, 'sqDiff');
      close(k.dot(a, b, n), ab, 'dot');
      k.f64()[out / 8 + 7] = 77; // guard
      k.pairStats(a, b, n, out);
      const s = Array.from(k.f64().subarray(out / 8, out / 8 + 8));
      close(s[0]!, sq, 'sum d^2');
      close(s[1]!, l1, 'sum |d|');
      assert.equal(s[2], changed, 'count');
      assert.equal(s[3], max, 'max |d|');
      close(s[4]!, ab, 'sum ab');
      close(s[5]!, aa, 'sum a^2');
      close(s[6]!, bb, 'sum b^2');
      assert.equal(s[7], 77, 'wrote past out[6]');
    },
  },
  {
    name: 'sqDiff, pairStats: equal arrays give exactly 0; -0 equals 0; NaN counts as changed',
    run: (k) => {
      for (const n of [0, 1, 7, 64, 1001]) {
        const layout = new Layout(k);
        const a = layout.alloc(n * 4), b = layout.alloc(n * 4), out = layout.alloc(7 * 8);
        fillNormal(k, a, n, 1e3, n);
        k.f32().copyWithin(b / 4, a / 4, a / 4 + n);
        assert.equal(k.sqDiff(a, b, n), 0);
        k.pairStats(a, b, n, out);
        assert.deepEqual(Array.from(k.f64().subarray(out / 8, out / 8 + 4)), [0, 0, 0, 0], `n=${n}`);
        if (n < 7) continue;
        const f = k.f32();
        f[a / 4 + 1] = 0;
        f[b / 4 + 1] = -0;
        f[a / 4 + n - 1] = NaN;
        f[b / 4 + n - 1] = NaN;
        f[b / 4 + 2] = NaN;
        k.pairStats(a, b, n, out);
        const s = k.f64();
        assert.equal(s[out / 8 + 2], 2, `n=${n}: NaN vs NaN and x vs NaN are changed, -0 vs 0 is not`);
        assert.ok(Number.isNaN(s[out / 8]!) && Number.isNaN(s[out / 8 + 3]!), 'NaN propagates into sums and max');
        assert.ok(Number.isNaN(k.sqDiff(a, b, n)));
      }
    },
  },
  {
    name: 'reserve keeps contents and fresh views see them',
    run: (k) => {
      k.reserve(100);
      k.u8()[99] = 42;
      k.reserve(3 * 65536 + 1);
      assert.ok(k.u8().length >= 3 * 65536 + 1);
      assert.equal(k.u8()[99], 42);
      assert.equal(k.f64().length, k.u8().length / 8);
      k.reserve(10); // never shrinks
      assert.ok(k.u8().length >= 3 * 65536 + 1);
      assert.throws(() => k.reserve(2 ** 32 + 1), RangeError);
    },
  },
  {
    name: 'precision: centred Gram in kb=512 blocks gives ||a-b||^2 to 1e-6 for near-identical 1e6-vectors',
    run: (k) => {
      const n = 1_000_000, kb = 512, mPad = 4;
      for (const rel of [1e-2, 1e-4]) {
        const layout = new Layout(k);
        const rows = layout.alloc(2 * n * 4); // a, then b
        const c = layout.alloc(n * 4);
        const packed = layout.alloc(mPad * kb * 4);
        const G = layout.alloc(mPad * mPad * 8);
        const r = rng(rel === 1e-2 ? 31 : 32);
        const f = k.f32();
        for (let i = 0; i < n; i++) {
          const a = 0.02 * r.normal();
          f[rows / 4 + i] = a;
          f[rows / 4 + n + i] = a + 0.02 * rel * r.normal();
          f[c / 4 + i] = a + 0.02 * rel * r.normal();
        }
        k.f64().fill(0, G / 8, G / 8 + mPad * mPad);
        for (let col0 = 0; col0 < n; col0 += kb) {
          const width = Math.min(kb, n - col0);
          k.centerPack(rows, 2, n, col0, width, c + col0 * 4, packed, mPad, kb);
          k.gramBlock(packed, mPad, kb, G);
        }
        const g = k.f64();
        const gram = g[G / 8]! + g[G / 8 + mPad + 1]! - 2 * g[G / 8 + 1]!;
        let exact = 0;
        for (let i = 0; i < n; i++) exact += (f[rows / 4 + i]! - f[rows / 4 + n + i]!) ** 2;
        const error = Math.abs(gram - exact) / exact;
        assert.ok(error < 1e-6, `rel=${rel}: relative error ${error.toExponential(2)}`);
      }
    },
  },
  {
    name: 'rowProductsF64: the reference bit for bit, within the float64 bound of the exact sums (odd lengths, several pieces, an offset C, the upper triangle)',
    run(k) {
      const reference = createReferenceKernels();
      for (const { m, n, len, ldc, upper } of [
        { m: 5, n: 7, len: 1031, ldc: 9, upper: false },
        { m: 6, n: 6, len: 513, ldc: 6, upper: true },
        { m: 1, n: 3, len: 1, ldc: 3, upper: false },
      ]) {
        const r = rng(m * 1000 + len);
        const A = Float64Array.from({ length: m * len }, () => r.normal());
        const B = upper ? A : Float64Array.from({ length: n * len }, () => r.normal());
        const C0 = Float64Array.from({ length: m * ldc }, () => r.normal());
        const run = (kk: Kernels): Float64Array => {
          const L = new Layout(kk);
          const a = L.alloc(A.length * 8);
          const b = upper ? a : L.alloc(B.length * 8);
          const c = L.alloc(C0.length * 8);
          kk.f64().set(A, a / 8);
          if (!upper) kk.f64().set(B, b / 8);
          kk.f64().set(C0, c / 8);
          kk.rowProductsF64(a, m, b, n, len, c, ldc, upper ? 1 : 0);
          return kk.f64().slice(c / 8, c / 8 + C0.length);
        };
        const got = run(k);
        const want = run(reference);
        for (let i = 0; i < m; i++) {
          for (let j = upper ? i : 0; j < n; j++) {
            const at = i * ldc + j;
            assert.equal(got[at], want[at], `bits of C[${i}, ${j}] (m ${m}, len ${len})`);
            // C0 + sum a*b with each product rounded once and the sum compensated (Neumaier): within u * magnitude of exact
            let sum = C0[at]!;
            let comp = 0;
            let magnitude = Math.abs(C0[at]!);
            const add = (x: number) => {
              const t = sum + x;
              comp += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
              sum = t;
            };
            for (let l = 0; l < len; l++) {
              const x = A[i * len + l]!;
              const y = B[j * len + l]!;
              add(x * y);
              magnitude += Math.abs(x * y);
            }
            const exact = sum + comp;
            assert.ok(Math.abs(got[at]! - exact) <= 2 ** -53 * (256 + 16) * magnitude, `C[${i}, ${j}] = ${got[at]} within the bound of ${exact}`);
          }
        }
        if (!upper) for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) assert.equal(got[i * ldc + j], C0[i * ldc + j], 'entries past n untouched');
      }
    },
  },
];

it('reference decoders give the values of the format definitions', () => {
  const half: [number, number][] = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  for (const [code, value] of half) assert.equal(binary16(code), value, `binary16 0x${code.toString(16)}`);
  assert.ok(Number.isNaN(binary16(0x7c01)) && Number.isNaN(binary16(0xfe00)));
  const bf: [number, number][] = [
    [0x3f80, 1], [0xc000, -2], [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126], [0x0001, 2 ** -133],
    [0x8000, -0], [0x7f80, Infinity], [0xff80, -Infinity],
  ];
  for (const [code, value] of bf) assert.equal(bfloat16(code), value, `bfloat16 0x${code.toString(16)}`);
  assert.ok(Number.isNaN(bfloat16(0x7fc0)) && Number.isNaN(bfloat16(0x7f81)));
  const e4m3: [number, number][] = [
    [0x00, 0], [0x80, -0], [0x38, 1], [0x7e, 448], [0xfe, -448], [0x78, 256],
    [0x01, 2 ** -9], [0x07, 7 * 2 ** -9], [0x08, 2 ** -6], [0x77, 240],
  ];
  for (const [code, value] of e4m3) assert.equal(float8e4m3fn(code), value, `e4m3 0x${code.toString(16)}`);
  assert.ok(Number.isNaN(float8e4m3fn(0x7f)) && Number.isNaN(float8e4m3fn(0xff)));
  const e5m2: [number, number][] = [
    [0x00, 0], [0x80, -0], [0x3c, 1], [0x7b, 57344], [0x01, 2 ** -16], [0x04, 2 ** -14], [0x7c, Infinity],
    [0xfc, -Infinity],
  ];
  for (const [code, value] of e5m2) assert.equal(float8e5m2(code), value, `e5m2 0x${code.toString(16)}`);
  for (const code of [0x7d, 0x7e, 0x7f, 0xff]) assert.ok(Number.isNaN(float8e5m2(code)));
});

for (const impl of IMPLEMENTATIONS) {
  describe(impl.name, { skip: impl.skip ?? false }, () => {
    for (const c of CASES) it(c.name, () => c.run(impl.create()));
  });
}
