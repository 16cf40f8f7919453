// One table of cases, run against every Kernels implementation. The reference decoders are checked against values
// from the format specifications; everything else is checked against float64 arithmetic done here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binary16, bfloat16, createReferenceKernels, float8e4m3fn, float8e5m2 } from '../../../src/compute/kernels/reference';
import { GRAM_F32_CHAIN, PAIR_SUB_COLUMNS, type Kernels } from '../../../src/compute/kernels/types';
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
    name: 'pairBlock: squared differences within the float32 summation bound, added to what is there',
    run: (k) => {
      // 6 rows (list padded with row 6), 1100 columns = 3 sub-blocks, from column 8 of rows 1200 apart
      const m = 6, stride = 1200, col0 = 8, n = 1100;
      const layout = new Layout(k);
      const rows = layout.alloc((m + 1) * stride * 4);
      const list = layout.alloc(8 * 4);
      const dStride = m + 1;
      const D = layout.alloc(dStride * dStride * 8);
      const packed = layout.alloc((m + 1) * PAIR_SUB_COLUMNS * 4);
      fillNormal(k, rows, (m + 1) * stride, 1, 7);
      // rows 0 and 1 near each other (the case the centred Gram could not be trusted with)
      const f0 = k.f32();
      for (let c = 0; c < stride; c++) f0[rows / 4 + stride + c] = Math.fround(f0[rows / 4 + c]! * (1 + 1e-3 * Math.sin(c)));
      new Int32Array(k.u8().buffer).set([0, 1, 2, 3, 4, 5, 6, 6], list / 4);
      const g0 = k.f64();
      for (let e = 0; e < dStride * dStride; e++) g0[D / 8 + e] = 0.5 + e;
      k.pairBlock(rows, stride, col0, n, m + 1, packed, list, 8, list, 8, 1, D, dStride);
      const f = k.f32();
      const g = k.f64();
      for (let i = 0; i < m; i++) {
        for (let j = i; j < m; j++) {
          let d2 = 0;
          for (let c = 0; c < n; c++) {
            const x = f[rows / 4 + i * stride + col0 + c]!;
            const y = f[rows / 4 + j * stride + col0 + c]!;
            d2 += (x - y) ** 2;
          }
          const e = i * dStride + j;
          const gotD = g[D / 8 + e]! - (0.5 + e);
          // float32 chains of at most GRAM_F32_CHAIN terms, a rounded difference each: (chain + 2) u of the sum
          assert.ok(Math.abs(gotD - d2) <= 1.01 * (GRAM_F32_CHAIN + 2) * U * d2 + 1e-12 * (0.5 + e), `D[${i}][${j}]: ${gotD} vs ${d2}`);
          if (i === j) assert.equal(gotD, 0, `D[${i}][${i}] is exactly 0`);
        }
      }
      // entries below the diagonal's tiles are left alone
      for (let i = 4; i < m; i++) assert.equal(g[D / 8 + i * dStride]!, 0.5 + i * dStride, `D[${i}][0] changed`);
    },
  },
  {
    name: 'pairBlock: an entry has the same bits whatever the lists, its tile, or which of its rows comes first',
    run: (k) => {
      const m = 7, stride = 600, n = 592;
      const layout = new Layout(k);
      const rows = layout.alloc((m + 1) * stride * 4);
      const lists = layout.alloc(16 * 4);
      const dStride = m + 1;
      const D = layout.alloc(dStride * dStride * 8);
      const packed = layout.alloc((m + 1) * PAIR_SUB_COLUMNS * 4);
      fillNormal(k, rows, (m + 1) * stride, 0.02, 9);
      const f = k.f32();
      // row 3 a copy of row 5 (equal rows: exactly 0), row 4 a small change of row 0
      f.copyWithin(rows / 4 + 3 * stride, rows / 4 + 5 * stride, rows / 4 + 6 * stride);
      for (let c = 0; c < stride; c++) f[rows / 4 + 4 * stride + c] = Math.fround(f[rows / 4 + c]! + 1e-5 * Math.cos(c));
      const run = (II: number[], JJ: number[] | null): Float64Array => {
        const ints = new Int32Array(k.u8().buffer);
        ints.set(II, lists / 4);
        if (JJ) ints.set(JJ, lists / 4 + 8);
        k.f64().fill(0, D / 8, D / 8 + dStride * dStride);
        k.pairBlock(rows, stride, 4, n, m + 1, packed, lists, II.length, JJ ? lists + 32 : lists, JJ ? JJ.length : II.length, JJ ? 0 : 1, D, dStride);
        return k.f64().slice(D / 8, D / 8 + dStride * dStride);
      };
      const fullD = run([0, 1, 2, 3, 4, 5, 6, 7], null);
      const revD = run([6, 5, 4, 3, 2, 1, 0, 7], null);
      const rectD = run([4, 3, 1, 7], [2, 0, 6, 5, 3, 4, 1, 7]);
      const at = (i: number, j: number) => i * dStride + j;
      for (let i = 0; i < m; i++) {
        for (let j = i; j < m; j++) {
          assert.equal(revD[at(j, i)], fullD[at(i, j)], `D(${j},${i}) in reverse order equals D(${i},${j})`);
          for (const r of [4, 3, 1]) {
            if (r !== i && r !== j) continue;
            const [p, q] = r === i ? [i, j] : [j, i];
            assert.equal(rectD[at(p, q)], fullD[at(i, j)], `rectangular D(${p},${q})`);
          }
        }
      }
      assert.equal(fullD[at(3, 5)], 0, 'equal rows give exactly 0');
      assert.ok(fullD[at(0, 4)]! > 0);
    },
  },
  {
    name: 'pairBlock: sums of squares of quantized differences (like fp16 values) are not biased by ties-to-even',
    run: (k) => {
      // Integers of ~11 bits times a power of two: their squares are exact and odd squares are 1 mod 4, so long
      // float32 sums keep rounding ties the same way (-8.6e-7 relative with 128-product chains at scale 460).
      const n = 200 * 512;
      const layout = new Layout(k);
      const rows = layout.alloc(3 * n * 4);
      const list = layout.alloc(4 * 4);
      const D = layout.alloc(9 * 8);
      const packed = layout.alloc(3 * PAIR_SUB_COLUMNS * 4);
      new Int32Array(k.u8().buffer).set([0, 1, 2, 2], list / 4);
      for (const scale of [460, 1000, 2000]) {
        const r = rng(scale);
        const f = k.f32();
        let exact = 0;
        for (let c = 0; c < n; c++) {
          const d = Math.round(scale * r.normal()) * 2 ** -20;
          f[rows / 4 + c] = d;
          f[rows / 4 + n + c] = 0;
          exact += d * d;
        }
        k.f64().fill(0, D / 8, D / 8 + 9);
        k.pairBlock(rows, n, 0, n, 3, packed, list, 4, list, 4, 1, D, 3);
        const error = (k.f64()[D / 8 + 1]! - exact) / exact;
        assert.ok(Math.abs(error) < 2e-7, `scale ${scale}: relative error ${error.toExponential(2)}`);
      }
    },
  },
  {
    name: 'precision: pairBlock gives ||a-b||^2 to 1e-6 for near-identical 1e6-vectors',
    run: (k) => {
      const n = 1_000_000;
      for (const rel of [1e-2, 1e-4, 1e-6]) {
        const layout = new Layout(k);
        const rows = layout.alloc(3 * n * 4); // a, then b, then a row that pads the list
        const list = layout.alloc(4 * 4);
        const D = layout.alloc(9 * 8);
        const packed = layout.alloc(3 * PAIR_SUB_COLUMNS * 4);
        new Int32Array(k.u8().buffer).set([0, 1, 2, 2], list / 4);
        const r = rng(rel === 1e-2 ? 31 : 32);
        const f = k.f32();
        for (let i = 0; i < n; i++) {
          const a = 0.02 * r.normal();
          f[rows / 4 + i] = a;
          f[rows / 4 + n + i] = a + 0.02 * rel * r.normal();
        }
        k.f64().fill(0, D / 8, D / 8 + 9);
        k.pairBlock(rows, n, 0, n, 3, packed, list, 4, list, 4, 1, D, 3);
        let exact = 0;
        for (let i = 0; i < n; i++) exact += (f[rows / 4 + i]! - f[rows / 4 + n + i]!) ** 2;
        const error = Math.abs(k.f64()[D / 8 + 1]! - exact) / exact;
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

it('pairBlock: the plain SIMD build has the reference\'s bits (lanes, chains and sub-blocks summed alike)', () => {
  const results = [createReferenceKernels(), createWasmKernels('wasm-simd')].map((k) => {
    const m = 5, stride = 1300, n = 1292;
    const layout = new Layout(k);
    const rows = layout.alloc((m + 1) * stride * 4);
    const lists = layout.alloc(16 * 4);
    const D = layout.alloc(36 * 8);
    const packed = layout.alloc(6 * PAIR_SUB_COLUMNS * 4);
    fillNormal(k, rows, (m + 1) * stride, 0.03, 5);
    const ints = new Int32Array(k.u8().buffer);
    ints.set([0, 1, 2, 3, 4, 5, 5, 5], lists / 4);
    ints.set([3, 1, 4, 5], lists / 4 + 8);
    k.pairBlock(rows, stride, 4, n, m + 1, packed, lists, 8, lists, 8, 1, D, 6);
    k.pairBlock(rows, stride, 4, n, m + 1, packed, lists + 32, 4, lists, 6, 0, D, 6);
    return [...k.f64().slice(D / 8, D / 8 + 36)];
  });
  assert.deepEqual(results[1], results[0]);
});

for (const impl of IMPLEMENTATIONS) {
  describe(impl.name, { skip: impl.skip ?? false }, () => {
    for (const c of CASES) it(c.name, () => c.run(impl.create()));
  });
}
