// The engine's hot loops in WebAssembly SIMD (AssemblyScript). The contract is the `Kernels` interface in
// ../../types.ts; wasm.ts binds these exports to it.
//
// Memory: this module has no static data, no heap and no stack use, so every byte from address 0 belongs to the
// caller (scripts/build-wasm.mjs refuses a build with a data segment). All pointers are byte offsets; counts are
// element counts.
//
// The same source is built twice: plain SIMD, and with relaxed SIMD enabled, where `madd` becomes a fused
// f32x4.relaxed_madd. Only the float32 chain sums (gramBlock, dotRef) use it; everything else is identical.

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** acc + a*b per float32 lane: fused under relaxed SIMD, multiply then add otherwise. */
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

@inline function sumF64Lanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Lanes 0,1 of a float32 vector as float64 (exact). */
@inline function lowF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

/** Lanes 2,3 of a float32 vector as float64 (exact). */
@inline function highF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 1));
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders. Each takes the codes zero-extended into i32x4 lanes and returns float32 bits.

const F32_EXP_MASK: i32 = 0x7f800000;
const TWO_POW_112: i32 = 0x77800000; // float32 bits of 2^112 = 2^(127-15)
const TWO_POW_120: i32 = 0x7b800000; // float32 bits of 2^120 = 2^(127-7)
const F32_QUIET_NAN: i32 = 0x7fc00000;

/**
 * IEEE binary16 -> binary32. Shifting exponent and mantissa into float32 position and multiplying by 2^112 rebiases
 * the exponent; it is exact for normals and subnormals alike (the shifted subnormal is a float32 subnormal, which
 * WebAssembly never flushes). Exponent 31 (inf/NaN) keeps its mantissa under an all-ones float32 exponent.
 */
@inline function halfToSingle(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(em, 13);
  const scaled = f32x4.mul(shifted, i32x4.splat(TWO_POW_112));
  const special = i32x4.gt_s(em, i32x4.splat(0x7bff));
  const infNan = v128.or(shifted, i32x4.splat(F32_EXP_MASK));
  return v128.or(v128.bitselect(infNan, scaled, special), sign);
}

@inline function halfToSingleScalar(h: u32): u32 {
  const sign = (h & 0x8000) << 16;
  const em = h & 0x7fff;
  if (em > 0x7bff) return sign | F32_EXP_MASK | (em << 13);
  return sign | reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(TWO_POW_112));
}

/** OCP FP8 E4M3 ("fn": bias 7, no infinities, S.1111.111 is NaN). Same rebiasing trick with 2^120. */
@inline function e4m3ToSingle(b: v128): v128 {
  const sign = i32x4.shl(v128.and(b, i32x4.splat(0x80)), 24);
  const em = v128.and(b, i32x4.splat(0x7f));
  const scaled = f32x4.mul(i32x4.shl(em, 20), i32x4.splat(TWO_POW_120));
  const nan = i32x4.eq(em, i32x4.splat(0x7f));
  return v128.or(v128.bitselect(i32x4.splat(F32_QUIET_NAN), scaled, nan), sign);
}

@inline function e4m3ToSingleScalar(b: u32): u32 {
  const sign = (b & 0x80) << 24;
  const em = b & 0x7f;
  if (em == 0x7f) return sign | F32_QUIET_NAN;
  return sign | reinterpret<u32>(reinterpret<f32>(em << 20) * reinterpret<f32>(TWO_POW_120));
}

export function decodeF16(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const out = dst + (<usize>i << 2);
    v128.store(out, halfToSingle(i32x4.extend_low_i16x8_u(h)));
    v128.store(out, halfToSingle(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < n; i++) {
    store<u32>(dst + (<usize>i << 2), halfToSingleScalar(<u32>load<u16>(src + (<usize>i << 1))));
  }
}

/** bfloat16 is the top half of a float32: interleave each code with two zero bytes. */
export function decodeBF16(src: usize, dst: usize, n: i32): void {
  const zero = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const out = dst + (<usize>i << 2);
    v128.store(out, i8x16.shuffle(zero, h, 0, 1, 16, 17, 0, 1, 18, 19, 0, 1, 20, 21, 0, 1, 22, 23));
    v128.store(out, i8x16.shuffle(zero, h, 0, 1, 24, 25, 0, 1, 26, 27, 0, 1, 28, 29, 0, 1, 30, 31), 16);
  }
  for (; i < n; i++) {
    store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
  }
}

export function decodeF8E4M3(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(src + <usize>i);
    const lo = i16x8.extend_low_i8x16_u(b);
    const hi = i16x8.extend_high_i8x16_u(b);
    const out = dst + (<usize>i << 2);
    v128.store(out, e4m3ToSingle(i32x4.extend_low_i16x8_u(lo)));
    v128.store(out, e4m3ToSingle(i32x4.extend_high_i16x8_u(lo)), 16);
    v128.store(out, e4m3ToSingle(i32x4.extend_low_i16x8_u(hi)), 32);
    v128.store(out, e4m3ToSingle(i32x4.extend_high_i16x8_u(hi)), 48);
  }
  for (; i < n; i++) {
    store<u32>(dst + (<usize>i << 2), e4m3ToSingleScalar(<u32>load<u8>(src + <usize>i)));
  }
}

/** FP8 E5M2 is the top byte of an IEEE binary16, so it goes through the half decoder. */
export function decodeF8E5M2(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(src + <usize>i);
    const lo = i16x8.shl(i16x8.extend_low_i8x16_u(b), 8);
    const hi = i16x8.shl(i16x8.extend_high_i8x16_u(b), 8);
    const out = dst + (<usize>i << 2);
    v128.store(out, halfToSingle(i32x4.extend_low_i16x8_u(lo)));
    v128.store(out, halfToSingle(i32x4.extend_high_i16x8_u(lo)), 16);
    v128.store(out, halfToSingle(i32x4.extend_low_i16x8_u(hi)), 32);
    v128.store(out, halfToSingle(i32x4.extend_high_i16x8_u(hi)), 48);
  }
  for (; i < n; i++) {
    store<u32>(dst + (<usize>i << 2), halfToSingleScalar(<u32>load<u8>(src + <usize>i) << 8));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Centering

/** Column means, summed in float64 row by row (the same order as the reference, so results are identical). */
export function meanRows(rows: usize, m: i32, stride: i32, col0: i32, kb: i32, ref: usize): void {
  const first = rows + (<usize>col0 << 2);
  const rowBytes = <usize>stride << 2;
  const count = <f64>m;
  const div = f64x2.splat(count);
  let c = 0;
  for (; c + 4 <= kb; c += 4) {
    let p = first + (<usize>c << 2);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let i = 0; i < m; i++) {
      const v = v128.load(p);
      lo = f64x2.add(lo, lowF64(v));
      hi = f64x2.add(hi, highF64(v));
      p += rowBytes;
    }
    const lo32 = f32x4.demote_f64x2_zero(f64x2.div(lo, div));
    const hi32 = f32x4.demote_f64x2_zero(f64x2.div(hi, div));
    v128.store(ref + (<usize>c << 2), i64x2.shuffle(lo32, hi32, 0, 2));
  }
  for (; c < kb; c++) {
    let p = first + (<usize>c << 2);
    let s: f64 = 0;
    for (let i = 0; i < m; i++) {
      s += <f64>load<f32>(p);
      p += rowBytes;
    }
    store<f32>(ref + (<usize>c << 2), <f32>(s / count));
  }
}

export function centerPack(
  rows: usize,
  m: i32,
  stride: i32,
  col0: i32,
  n: i32,
  ref: usize,
  packed: usize,
  mPad: i32,
  kb: i32,
): void {
  const rowBytes = <usize>stride << 2;
  const packedRowBytes = <usize>kb << 2;
  let src = rows + (<usize>col0 << 2);
  let dst = packed;
  for (let i = 0; i < m; i++) {
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const off = <usize>c << 2;
      v128.store(dst + off, f32x4.sub(v128.load(src + off), v128.load(ref + off)));
    }
    for (; c < n; c++) {
      const off = <usize>c << 2;
      store<f32>(dst + off, load<f32>(src + off) - load<f32>(ref + off));
    }
    memory.fill(dst + (<usize>c << 2), 0, <usize>(kb - c) << 2);
    src += rowBytes;
    dst += packedRowBytes;
  }
  memory.fill(dst, 0, <usize>(mPad - m) * packedRowBytes);
}

// ---------------------------------------------------------------------------------------------------------------
// Gram block: a 4x2 register tile (rows i..i+3 against rows j, j+1) keeps 8 float32x4 accumulators; each 4-column
// step loads 6 vectors for 8 multiply-adds. Each float32 lane sums at most CHAIN products (RUN columns), then is
// widened into float64 tile sums: longer float32 chains bias sums of squares of quantized values (fp16/bf16
// differences) downwards by ties-to-even rounding, about 1e-6 relative at 128 products; flushing costs ~12% speed.
// Tiles cover the upper triangle; on the diagonal the few lower entries a tile computes are dropped.

/** Products per float32 lane sum in gramBlock and dotRef (GRAM_F32_CHAIN in types.ts), and the columns they cover. */
const CHAIN: usize = 16;
const RUN: usize = 4 * CHAIN;

/** The two float64 halves of a float32x4 sum, lane-wise: [l0 + l2, l1 + l3]. */
@inline function widen(v: v128): v128 {
  return f64x2.add(lowF64(v), highF64(v));
}

@inline function addTile(G: usize, mPad: i32, i: i32, j: i32, sum: v128): void {
  if (i <= j) {
    const at = G + ((<usize>i * <usize>mPad + <usize>j) << 3);
    store<f64>(at, load<f64>(at) + sumF64Lanes(sum));
  }
}

export function gramBlock(packed: usize, mPad: i32, kb: i32, G: usize): void {
  const rowBytes = <usize>kb << 2;
  for (let i = 0; i < mPad; i += 4) {
    const x0 = packed + <usize>i * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    for (let j = i; j < mPad; j += 2) {
      const y0 = packed + <usize>j * rowBytes;
      const y1 = y0 + rowBytes;
      let s00 = f64x2.splat(0), s01 = f64x2.splat(0);
      let s10 = f64x2.splat(0), s11 = f64x2.splat(0);
      let s20 = f64x2.splat(0), s21 = f64x2.splat(0);
      let s30 = f64x2.splat(0), s31 = f64x2.splat(0);
      for (let start: usize = 0; start < rowBytes; start += RUN << 2) {
        const end = min(start + (RUN << 2), rowBytes);
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
        for (let off = start; off < end; off += 16) {
          const b0 = v128.load(y0 + off);
          const b1 = v128.load(y1 + off);
          const r0 = v128.load(x0 + off);
          a00 = madd(r0, b0, a00);
          a01 = madd(r0, b1, a01);
          const r1 = v128.load(x1 + off);
          a10 = madd(r1, b0, a10);
          a11 = madd(r1, b1, a11);
          const r2 = v128.load(x2 + off);
          a20 = madd(r2, b0, a20);
          a21 = madd(r2, b1, a21);
          const r3 = v128.load(x3 + off);
          a30 = madd(r3, b0, a30);
          a31 = madd(r3, b1, a31);
        }
        s00 = f64x2.add(s00, widen(a00));
        s01 = f64x2.add(s01, widen(a01));
        s10 = f64x2.add(s10, widen(a10));
        s11 = f64x2.add(s11, widen(a11));
        s20 = f64x2.add(s20, widen(a20));
        s21 = f64x2.add(s21, widen(a21));
        s30 = f64x2.add(s30, widen(a30));
        s31 = f64x2.add(s31, widen(a31));
      }
      addTile(G, mPad, i, j, s00);
      addTile(G, mPad, i, j + 1, s01);
      addTile(G, mPad, i + 1, j, s10);
      addTile(G, mPad, i + 1, j + 1, s11);
      addTile(G, mPad, i + 2, j, s20);
      addTile(G, mPad, i + 2, j + 1, s21);
      addTile(G, mPad, i + 3, j, s30);
      addTile(G, mPad, i + 3, j + 1, s31);
    }
  }
}

/** Dot products of every packed row with the reference row (4 rows at a time), plus the reference's squared norm. */
export function dotRef(packed: usize, mPad: i32, kb: i32, ref: usize, S: usize): f64 {
  const rowBytes = <usize>kb << 2;
  for (let i = 0; i < mPad; i += 4) {
    const x0 = packed + <usize>i * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    for (let start: usize = 0; start < rowBytes; start += RUN << 2) {
      const end = min(start + (RUN << 2), rowBytes);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let off = start; off < end; off += 16) {
        const r = v128.load(ref + off);
        a0 = madd(v128.load(x0 + off), r, a0);
        a1 = madd(v128.load(x1 + off), r, a1);
        a2 = madd(v128.load(x2 + off), r, a2);
        a3 = madd(v128.load(x3 + off), r, a3);
      }
      s0 = f64x2.add(s0, widen(a0));
      s1 = f64x2.add(s1, widen(a1));
      s2 = f64x2.add(s2, widen(a2));
      s3 = f64x2.add(s3, widen(a3));
    }
    const s = S + (<usize>i << 3);
    store<f64>(s, load<f64>(s) + sumF64Lanes(s0));
    store<f64>(s, load<f64>(s, 8) + sumF64Lanes(s1), 8);
    store<f64>(s, load<f64>(s, 16) + sumF64Lanes(s2), 16);
    store<f64>(s, load<f64>(s, 24) + sumF64Lanes(s3), 24);
  }
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  for (let off: usize = 0; off < rowBytes; off += 16) {
    const v = v128.load(ref + off);
    const l = lowF64(v);
    const h = highF64(v);
    lo = f64x2.add(lo, f64x2.mul(l, l));
    hi = f64x2.add(hi, f64x2.mul(h, h));
  }
  return sumF64Lanes(f64x2.add(lo, hi));
}

// ---------------------------------------------------------------------------------------------------------------
// Direct float64 pair kernels. Values are widened to float64 before any arithmetic, so differences of float32
// values are exact (for exponents within 29 of each other) and products are exact; only the sums round.

export function sqDiff(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const va = v128.load(a + off);
    const vb = v128.load(b + off);
    const d0 = f64x2.sub(lowF64(va), lowF64(vb));
    const d1 = f64x2.sub(highF64(va), highF64(vb));
    s0 = f64x2.add(s0, f64x2.mul(d0, d0));
    s1 = f64x2.add(s1, f64x2.mul(d1, d1));
  }
  let s = sumF64Lanes(f64x2.add(s0, s1));
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const d = <f64>load<f32>(a + off) - <f64>load<f32>(b + off);
    s += d * d;
  }
  return s;
}

export function dot(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const va = v128.load(a + off);
    const vb = v128.load(b + off);
    s0 = f64x2.add(s0, f64x2.mul(lowF64(va), lowF64(vb)));
    s1 = f64x2.add(s1, f64x2.mul(highF64(va), highF64(vb)));
  }
  let s = sumF64Lanes(f64x2.add(s0, s1));
  for (; i < n; i++) {
    const off = <usize>i << 2;
    s += <f64>load<f32>(a + off) * <f64>load<f32>(b + off);
  }
  return s;
}

/** out[0..6] = [sum d^2, sum |d|, count(a != b), max |d|, sum ab, sum a^2, sum b^2] with d = a - b in float64. */
export function pairStats(a: usize, b: usize, n: i32, out: usize): void {
  let sq = f64x2.splat(0), l1 = f64x2.splat(0), mx = f64x2.splat(0);
  let ab = f64x2.splat(0), aa = f64x2.splat(0), bb = f64x2.splat(0);
  let changed = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const va = v128.load(a + off);
    const vb = v128.load(b + off);
    changed = i32x4.sub(changed, f32x4.ne(va, vb)); // a true lane is -1
    const a0 = lowF64(va), a1 = highF64(va);
    const b0 = lowF64(vb), b1 = highF64(vb);
    const d0 = f64x2.sub(a0, b0), d1 = f64x2.sub(a1, b1);
    const e0 = f64x2.abs(d0), e1 = f64x2.abs(d1);
    sq = f64x2.add(sq, f64x2.add(f64x2.mul(d0, d0), f64x2.mul(d1, d1)));
    l1 = f64x2.add(l1, f64x2.add(e0, e1));
    mx = f64x2.pmax(mx, f64x2.pmax(e0, e1)); // drops NaN (one instruction); restored from sSq below
    ab = f64x2.add(ab, f64x2.add(f64x2.mul(a0, b0), f64x2.mul(a1, b1)));
    aa = f64x2.add(aa, f64x2.add(f64x2.mul(a0, a0), f64x2.mul(a1, a1)));
    bb = f64x2.add(bb, f64x2.add(f64x2.mul(b0, b0), f64x2.mul(b1, b1)));
  }
  let sSq = sumF64Lanes(sq), sL1 = sumF64Lanes(l1);
  let sMax = max<f64>(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1));
  let sAb = sumF64Lanes(ab), sAa = sumF64Lanes(aa), sBb = sumF64Lanes(bb);
  let count = <f64>(
    <u32>i32x4.extract_lane(changed, 0) + <u32>i32x4.extract_lane(changed, 1) +
    <u32>i32x4.extract_lane(changed, 2) + <u32>i32x4.extract_lane(changed, 3)
  );
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const fa = load<f32>(a + off), fb = load<f32>(b + off);
    const x = <f64>fa, y = <f64>fb;
    const d = x - y;
    const e = abs<f64>(d);
    if (fa != fb) count += 1;
    sSq += d * d;
    sL1 += e;
    sMax = max<f64>(sMax, e);
    sAb += x * y;
    sAa += x * x;
    sBb += y * y;
  }
  if (isNaN(sSq)) sMax = NaN; // some difference was NaN: the max is NaN too, as Math.max would have it
  store<f64>(out, sSq);
  store<f64>(out, sL1, 8);
  store<f64>(out, count, 16);
  store<f64>(out, sMax, 24);
  store<f64>(out, sAb, 32);
  store<f64>(out, sAa, 40);
  store<f64>(out, sBb, 48);
}
