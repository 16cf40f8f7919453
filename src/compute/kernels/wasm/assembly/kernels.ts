// The engine's hot loops in WebAssembly SIMD (AssemblyScript). The contract is the `Kernels` interface in
// ../../types.ts; wasm.ts binds these exports to it.
//
// Memory: this module has no static data, no heap and no stack use, so every byte from address 0 belongs to the
// caller (scripts/build-wasm.mjs refuses a build with a data segment). All pointers are byte offsets; counts are
// element counts.
//
// The same source is built twice: plain SIMD, and with relaxed SIMD enabled, where `madd` becomes a fused
// f32x4.relaxed_madd. Only the float32 chain sums (pairBlock) use it; everything else is identical.

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
// Dequantisers. Each mirrors quant/dequantRef.ts operation for operation: one float32 multiply or add/subtract per
// step of ggml's (or bitsandbytes') arithmetic, never fused, so results are bit-identical to the reference.

/** An IEEE half at p as float32 (exact). */
@inline function halfAt(p: usize): f32 {
  return reinterpret<f32>(halfToSingleScalar(<u32>load<u16>(p)));
}

/** 16 signed bytes times d, stored as 16 float32 at o. */
@inline function storeScaledI8(v: v128, d: v128, o: usize): void {
  const a = i16x8.extend_low_i8x16_s(v);
  const b = i16x8.extend_high_i8x16_s(v);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a)), d));
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a)), d), 16);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(b)), d), 32);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(b)), d), 48);
}

/** 16 unsigned bytes q as float32: (q * d) - m, stored at o. */
@inline function storeAffineU8(v: v128, d: v128, m: v128, o: usize): void {
  const a = i16x8.extend_low_i8x16_u(v);
  const b = i16x8.extend_high_i8x16_u(v);
  v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(a)), d), m));
  v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(a)), d), m), 16);
  v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(b)), d), m), 32);
  v128.store(o, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(b)), d), m), 48);
}

/** Q8_0: 32 values in 34 bytes, f16 d then 32 int8; value = d * q. */
export function dequantQ8_0(src: usize, dst: usize, nBlocks: i32): void {
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 34;
    const o = dst + (<usize>b << 7);
    const d = f32x4.splat(halfAt(p));
    storeScaledI8(v128.load(p, 2), d, o);
    storeScaledI8(v128.load(p, 18), d, o + 64);
  }
}

/** The 5th bits of a 32-value block (u32 qh, bit i for element i) for elements 16h..16h+15, as 0 or 16 per byte. */
@inline function fifthBits(qh: u32, h: i32): v128 {
  const half = qh >> (<u32>h << 4);
  const bytes = i8x16.swizzle(i32x4.splat(half), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const bit = v128.and(bytes, i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128));
  return v128.and(v128.not(i8x16.eq(bit, i8x16.splat(0))), i8x16.splat(16));
}

/** Q4_0: f16 d, 16 bytes (element i low nibble of byte i, element i+16 high nibble); value = d * (q - 8). */
export function dequantQ4_0(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  const eight = i8x16.splat(8);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 18;
    const o = dst + (<usize>b << 7);
    const d = f32x4.splat(halfAt(p));
    const q = v128.load(p, 2);
    storeScaledI8(i8x16.sub(v128.and(q, mask), eight), d, o);
    storeScaledI8(i8x16.sub(i8x16.shr_u(q, 4), eight), d, o + 64);
  }
}

/** Q4_1: f16 d, f16 m, 16 bytes as Q4_0; value = d * q + m (computed as d * q - (-m), the same float32 result). */
export function dequantQ4_1(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 20;
    const o = dst + (<usize>b << 7);
    const d = f32x4.splat(halfAt(p));
    const negM = f32x4.splat(-halfAt(p + 2));
    const q = v128.load(p, 4);
    storeAffineU8(v128.and(q, mask), d, negM, o);
    storeAffineU8(i8x16.shr_u(q, 4), d, negM, o + 64);
  }
}

/** Q5_0: f16 d, u32 qh (bit i = 5th bit of element i), 16 bytes of low nibbles; value = d * (q - 16). */
export function dequantQ5_0(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  const sixteen = i8x16.splat(16);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 22;
    const o = dst + (<usize>b << 7);
    const d = f32x4.splat(halfAt(p));
    const qh = load<u32>(p + 2);
    const q = v128.load(p, 6);
    storeScaledI8(i8x16.sub(v128.or(v128.and(q, mask), fifthBits(qh, 0)), sixteen), d, o);
    storeScaledI8(i8x16.sub(v128.or(i8x16.shr_u(q, 4), fifthBits(qh, 1)), sixteen), d, o + 64);
  }
}

/** Q5_1: f16 d, f16 m, u32 qh, 16 bytes; value = d * q + m. */
export function dequantQ5_1(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 24;
    const o = dst + (<usize>b << 7);
    const d = f32x4.splat(halfAt(p));
    const negM = f32x4.splat(-halfAt(p + 2));
    const qh = load<u32>(p + 4);
    const q = v128.load(p, 8);
    storeAffineU8(v128.or(v128.and(q, mask), fifthBits(qh, 0)), d, negM, o);
    storeAffineU8(v128.or(i8x16.shr_u(q, 4), fifthBits(qh, 1)), d, negM, o + 64);
  }
}

/**
 * Q2_K: 16 bytes of scales (low nibble scale, high nibble min, per 16 values), 64 bytes of 2-bit codes, f16 d,
 * f16 dmin. Element 128h + 32s + l is bits 2s of code byte 32h + l; value = (d * sc) * q - dmin * m.
 */
export function dequantQ2_K(src: usize, dst: usize, nBlocks: i32): void {
  const three = i8x16.splat(3);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 84;
    const o = dst + (<usize>b << 10);
    const d = halfAt(p + 80);
    const dmin = halfAt(p + 82);
    for (let h = 0; h < 2; h++) {
      const a = v128.load(p + 16 + (<usize>h << 5));
      const c = v128.load(p + 16 + (<usize>h << 5), 16);
      for (let s = 0; s < 4; s++) {
        const j = (h << 3) + (s << 1);
        const s0 = <i32>load<u8>(p + j);
        const s1 = <i32>load<u8>(p + j + 1);
        const out = o + (<usize>((h << 7) + (s << 5)) << 2);
        storeAffineU8(v128.and(i8x16.shr_u(a, s << 1), three), f32x4.splat(d * <f32>(s0 & 15)), f32x4.splat(dmin * <f32>(s0 >> 4)), out);
        storeAffineU8(v128.and(i8x16.shr_u(c, s << 1), three), f32x4.splat(d * <f32>(s1 & 15)), f32x4.splat(dmin * <f32>(s1 >> 4)), out + 64);
      }
    }
  }
}

/** The 6-bit scale (minus 32) of group j (of 16) from Q3_K's 12 scale bytes at s. */
@inline function k3Scale(s: usize, j: i32): i32 {
  const low = j < 8 ? <i32>load<u8>(s + j) & 15 : <i32>load<u8>(s + j - 8) >> 4;
  const high = (<i32>load<u8>(s + 8 + (j & 3)) >> (2 * (j >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

/**
 * Q3_K: 32 bytes hmask, 64 bytes 2-bit codes (laid out as Q2_K's), 12 bytes of 6-bit scales (minus 32), f16 d.
 * Element e's hmask bit is bit e / 32 of byte e mod 32; value = (d * sc) * (q - 4 where that bit is 0).
 */
export function dequantQ3_K(src: usize, dst: usize, nBlocks: i32): void {
  const three = i8x16.splat(3);
  const one = i8x16.splat(1);
  const four = i8x16.splat(4);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 110;
    const o = dst + (<usize>b << 10);
    const d = halfAt(p + 108);
    const ma = v128.load(p);
    const mc = v128.load(p, 16);
    for (let h = 0; h < 2; h++) {
      const a = v128.load(p + 32 + (<usize>h << 5));
      const c = v128.load(p + 32 + (<usize>h << 5), 16);
      for (let s = 0; s < 4; s++) {
        const j = (h << 3) + (s << 1);
        const bit = (h << 2) + s;
        const qa = i8x16.sub(v128.or(v128.and(i8x16.shr_u(a, s << 1), three), i8x16.shl(v128.and(i8x16.shr_u(ma, bit), one), 2)), four);
        const qc = i8x16.sub(v128.or(v128.and(i8x16.shr_u(c, s << 1), three), i8x16.shl(v128.and(i8x16.shr_u(mc, bit), one), 2)), four);
        const out = o + (<usize>((h << 7) + (s << 5)) << 2);
        storeScaledI8(qa, f32x4.splat(d * <f32>k3Scale(p + 96, j)), out);
        storeScaledI8(qc, f32x4.splat(d * <f32>k3Scale(p + 96, j + 1)), out + 64);
      }
    }
  }
}

/** Scale (sub-block j of 8) from the 12 packed bytes of Q4_K / Q5_K at s. */
@inline function k4Scale(s: usize, j: i32): i32 {
  return j < 4 ? <i32>load<u8>(s + j) & 63 : (<i32>load<u8>(s + j + 4) & 15) | ((<i32>load<u8>(s + j - 4) >> 6) << 4);
}

@inline function k4Min(s: usize, j: i32): i32 {
  return j < 4 ? <i32>load<u8>(s + j + 4) & 63 : (<i32>load<u8>(s + j + 4) >> 4) | ((<i32>load<u8>(s + j) >> 6) << 4);
}

/**
 * Q4_K: f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes; 32-byte chunk k holds sub-block 2k in its low nibbles
 * and 2k+1 in its high nibbles; value = (d * sc) * q - dmin * m.
 */
export function dequantQ4_K(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 144;
    const o = dst + (<usize>b << 10);
    const d = halfAt(p);
    const dmin = halfAt(p + 2);
    for (let k = 0; k < 4; k++) {
      const j = k << 1;
      const d0 = f32x4.splat(d * <f32>k4Scale(p + 4, j));
      const m0 = f32x4.splat(dmin * <f32>k4Min(p + 4, j));
      const d1 = f32x4.splat(d * <f32>k4Scale(p + 4, j + 1));
      const m1 = f32x4.splat(dmin * <f32>k4Min(p + 4, j + 1));
      const q = p + 16 + (<usize>k << 5);
      const a = v128.load(q);
      const c = v128.load(q, 16);
      const out = o + (<usize>k << 8);
      storeAffineU8(v128.and(a, mask), d0, m0, out);
      storeAffineU8(v128.and(c, mask), d0, m0, out + 64);
      storeAffineU8(i8x16.shr_u(a, 4), d1, m1, out + 128);
      storeAffineU8(i8x16.shr_u(c, 4), d1, m1, out + 192);
    }
  }
}

/** Q5_K: f16 d, f16 dmin, 12 bytes scales/mins, 32 bytes qh (bit k of byte l = 5th bit of element 32k + l), 128 bytes as Q4_K. */
export function dequantQ5_K(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  const one = i8x16.splat(1);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 176;
    const o = dst + (<usize>b << 10);
    const d = halfAt(p);
    const dmin = halfAt(p + 2);
    const h0 = v128.load(p + 16);
    const h1 = v128.load(p + 16, 16);
    for (let k = 0; k < 4; k++) {
      const j = k << 1;
      const d0 = f32x4.splat(d * <f32>k4Scale(p + 4, j));
      const m0 = f32x4.splat(dmin * <f32>k4Min(p + 4, j));
      const d1 = f32x4.splat(d * <f32>k4Scale(p + 4, j + 1));
      const m1 = f32x4.splat(dmin * <f32>k4Min(p + 4, j + 1));
      const q = p + 48 + (<usize>k << 5);
      const a = v128.load(q);
      const c = v128.load(q, 16);
      // the 5th bits of sub-blocks j and j+1: bits j and j+1 of the qh bytes, moved to bit 4
      const ha0 = i8x16.shl(v128.and(i8x16.shr_u(h0, j), one), 4);
      const hc0 = i8x16.shl(v128.and(i8x16.shr_u(h1, j), one), 4);
      const ha1 = i8x16.shl(v128.and(i8x16.shr_u(h0, j + 1), one), 4);
      const hc1 = i8x16.shl(v128.and(i8x16.shr_u(h1, j + 1), one), 4);
      const out = o + (<usize>k << 8);
      storeAffineU8(v128.or(v128.and(a, mask), ha0), d0, m0, out);
      storeAffineU8(v128.or(v128.and(c, mask), hc0), d0, m0, out + 64);
      storeAffineU8(v128.or(i8x16.shr_u(a, 4), ha1), d1, m1, out + 128);
      storeAffineU8(v128.or(i8x16.shr_u(c, 4), hc1), d1, m1, out + 192);
    }
  }
}

/** Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 int8 scales (per 16 values), f16 d; value = (d * sc) * (q - 32). */
export function dequantQ6_K(src: usize, dst: usize, nBlocks: i32): void {
  const mask = i8x16.splat(15);
  const three = i8x16.splat(3);
  const bias = i8x16.splat(32);
  for (let b = 0; b < nBlocks; b++) {
    const p = src + <usize>b * 210;
    const o = dst + (<usize>b << 10);
    const d = halfAt(p + 208);
    // element e: half = e >> 7; low nibble from ql[half*64 + (e & 63)] (shift 4 when (e >> 6) & 1),
    // two high bits from qh[half*32 + (e & 31)] >> 2*((e >> 5) & 3), scale int8 at 192 + (e >> 4)
    for (let half = 0; half < 2; half++) {
      const ql = p + (<usize>half << 6);
      const qh = p + 128 + (<usize>half << 5);
      for (let g = 0; g < 8; g++) {
        // 16 consecutive elements e0 = half*128 + g*16 .. +15
        const e0 = (half << 7) + (g << 4);
        const inner = e0 & 127;
        const low = v128.load(ql + <usize>(inner & 63));
        const nib = (inner >> 6) & 1 ? i8x16.shr_u(low, 4) : v128.and(low, mask);
        const hb = v128.and(i8x16.shr_u(v128.load(qh + <usize>(inner & 31)), 2 * ((inner >> 5) & 3)), three);
        const q = i8x16.sub(v128.or(nib, i8x16.shl(hb, 4)), bias);
        const sc = f32x4.splat(d * <f32>load<i8>(p + 192 + (e0 >> 4)));
        storeScaledI8(q, sc, o + (<usize>e0 << 2));
      }
    }
  }
}

/** fp8 E4M3 codes times a float32 scale. */
export function decodeF8E4M3Scaled(src: usize, dst: usize, n: i32, scale: f32): void {
  const s = f32x4.splat(scale);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(src + <usize>i);
    const lo = i16x8.extend_low_i8x16_u(b);
    const hi = i16x8.extend_high_i8x16_u(b);
    const out = dst + (<usize>i << 2);
    v128.store(out, f32x4.mul(e4m3ToSingle(i32x4.extend_low_i16x8_u(lo)), s));
    v128.store(out, f32x4.mul(e4m3ToSingle(i32x4.extend_high_i16x8_u(lo)), s), 16);
    v128.store(out, f32x4.mul(e4m3ToSingle(i32x4.extend_low_i16x8_u(hi)), s), 32);
    v128.store(out, f32x4.mul(e4m3ToSingle(i32x4.extend_high_i16x8_u(hi)), s), 48);
  }
  for (; i < n; i++) {
    store<f32>(dst + (<usize>i << 2), reinterpret<f32>(e4m3ToSingleScalar(<u32>load<u8>(src + <usize>i))) * scale);
  }
}

/** fp8 E5M2 codes times a float32 scale. */
export function decodeF8E5M2Scaled(src: usize, dst: usize, n: i32, scale: f32): void {
  const s = f32x4.splat(scale);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(src + <usize>i);
    const lo = i16x8.shl(i16x8.extend_low_i8x16_u(b), 8);
    const hi = i16x8.shl(i16x8.extend_high_i8x16_u(b), 8);
    const out = dst + (<usize>i << 2);
    v128.store(out, f32x4.mul(halfToSingle(i32x4.extend_low_i16x8_u(lo)), s));
    v128.store(out, f32x4.mul(halfToSingle(i32x4.extend_high_i16x8_u(lo)), s), 16);
    v128.store(out, f32x4.mul(halfToSingle(i32x4.extend_low_i16x8_u(hi)), s), 32);
    v128.store(out, f32x4.mul(halfToSingle(i32x4.extend_high_i16x8_u(hi)), s), 48);
  }
  for (; i < n; i++) {
    store<f32>(dst + (<usize>i << 2), reinterpret<f32>(halfToSingleScalar(<u32>load<u8>(src + <usize>i) << 8)) * scale);
  }
}

/** Rounds a float32 to the nearest float16 (ties to even; beyond the range to infinity), kept as float32. */
@inline function roundToHalf(x: f32): f32 {
  const a = abs<f32>(x);
  if (!(a < Infinity) || a == 0) return x;
  let e = <i32>((reinterpret<u32>(x) >> 23) & 0xff) - 127;
  if (e < -14) e = -14;
  const quantum = reinterpret<f32>(<u32>(e - 10 + 127) << 23);
  const r = nearest<f32>(a / quantum) * quantum;
  return copysign<f32>(r > 65504 ? Infinity : r, x);
}

/** Rounds a float32 to the nearest bfloat16 (ties to even), kept as float32. */
@inline function roundToBFloat16(x: f32): f32 {
  const u = reinterpret<u32>(x);
  if ((u & 0x7fffffff) > 0x7f800000) return x;
  return reinterpret<f32>(((u + 0x7fff + ((u >> 16) & 1)) >> 16) << 16);
}

/** bitsandbytes 4-bit codes (Kernels.dequant4bit). */
export function dequant4bit(src: usize, table: usize, absmax: usize, dst: usize, n: i32, phase: i32, blockShift: i32, out: i32): void {
  for (let i = 0; i < n; i++) {
    const byte = <u32>load<u8>(src + <usize>(i >> 1));
    const code = i & 1 ? byte & 15 : byte >> 4;
    const v = load<f32>(table + (<usize>code << 2)) * load<f32>(absmax + (<usize>((phase + i) >> blockShift) << 2));
    store<f32>(dst + (<usize>i << 2), out == 0 ? v : out == 1 ? roundToHalf(v) : roundToBFloat16(v));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Float32 chains. Each float32 lane sums at most CHAIN products (RUN columns), then is widened into float64 sums:
// longer float32 chains bias sums of squares of quantized values (fp16/bf16 differences) downwards by ties-to-even
// rounding, about 1e-6 relative at 128 products; flushing costs ~12% speed.

/** Products per float32 lane sum in pairBlock (GRAM_F32_CHAIN in types.ts), and the columns they cover. */
const CHAIN: usize = 16;
const RUN: usize = 4 * CHAIN;

/** The two float64 halves of a float32x4 sum, lane-wise: [l0 + l2, l1 + l3]. */
@inline function widen(v: v128): v128 {
  return f64x2.add(lowF64(v), highF64(v));
}

// ---------------------------------------------------------------------------------------------------------------
// Pair block: for rows i in list II and j in list JJ, over columns [col0, col0 + n) of rows laid out at a fixed stride,
// D[i*dStride + j] += sum_c (x_i[c] - x_j[c])^2. A 4x2 register tile keeps 8 float32x4 accumulators; each 4-column
// step loads 6 vectors for 8 subtracts and 8 multiply-adds. Each float32 lane sums at most CHAIN squares (RUN columns),
// then is widened into a float64 sum; the columns are taken SUB at a time (a sub-block, its rows' slices copied side by
// side to stay in cache), and each sub-block's float64 sum is added into D. So every entry is summed in an order fixed
// by its two rows and the column index alone, whatever the lists, the tile the entry falls in, or which of the two
// rows is i: x - y = -(y - x) exactly. Equal rows give exactly 0.

/** Columns per sub-block of pairBlock (PAIR_SUB_COLUMNS in types.ts). */
const SUB: usize = 512;

@inline function addEntry(M: usize, dStride: i32, i: i32, j: i32, sum: v128): void {
  const at = M + ((<usize>i * <usize>dStride + <usize>j) << 3);
  store<f64>(at, load<f64>(at) + sumF64Lanes(sum));
}

export function pairBlock(rows: usize, stride: i32, col0: i32, n: i32, nRows: i32, packed: usize, II: usize, ni: i32, JJ: usize, nj: i32, tri: i32, D: usize, dStride: i32): void {
  const rowBytes = <usize>SUB << 2;
  const bytes = <usize>n << 2;
  for (let sub: usize = 0; sub < bytes; sub += SUB << 2) {
    const width = min(SUB << 2, bytes - sub);
    // the sub-block's slices of rows [0, nRows), side by side (rows far apart share cache sets)
    let from = rows + (<usize>col0 << 2) + sub;
    for (let r = 0; r < nRows; r++) {
      memory.copy(packed + <usize>r * rowBytes, from, width);
      from += <usize>stride << 2;
    }
    for (let a = 0; a < ni; a += 4) {
      const i0 = load<i32>(II + (<usize>a << 2));
      const i1 = load<i32>(II + (<usize>a << 2), 4);
      const i2 = load<i32>(II + (<usize>a << 2), 8);
      const i3 = load<i32>(II + (<usize>a << 2), 12);
      const x0 = packed + <usize>i0 * rowBytes;
      const x1 = packed + <usize>i1 * rowBytes;
      const x2 = packed + <usize>i2 * rowBytes;
      const x3 = packed + <usize>i3 * rowBytes;
      for (let b = tri ? a : 0; b < nj; b += 2) {
        const j0 = load<i32>(JJ + (<usize>b << 2));
        const j1 = load<i32>(JJ + (<usize>b << 2), 4);
        const y0 = packed + <usize>j0 * rowBytes;
        const y1 = packed + <usize>j1 * rowBytes;
        let d00 = f64x2.splat(0), d01 = f64x2.splat(0), d10 = f64x2.splat(0), d11 = f64x2.splat(0);
        let d20 = f64x2.splat(0), d21 = f64x2.splat(0), d30 = f64x2.splat(0), d31 = f64x2.splat(0);
        for (let start: usize = 0; start < width; start += RUN << 2) {
          const end = min(start + (RUN << 2), width);
          let e00 = f32x4.splat(0), e01 = f32x4.splat(0), e10 = f32x4.splat(0), e11 = f32x4.splat(0);
          let e20 = f32x4.splat(0), e21 = f32x4.splat(0), e30 = f32x4.splat(0), e31 = f32x4.splat(0);
          for (let off = start; off < end; off += 16) {
            const c0 = v128.load(y0 + off);
            const c1 = v128.load(y1 + off);
            const r0 = v128.load(x0 + off);
            let t = f32x4.sub(r0, c0);
            e00 = madd(t, t, e00);
            t = f32x4.sub(r0, c1);
            e01 = madd(t, t, e01);
            const r1 = v128.load(x1 + off);
            t = f32x4.sub(r1, c0);
            e10 = madd(t, t, e10);
            t = f32x4.sub(r1, c1);
            e11 = madd(t, t, e11);
            const r2 = v128.load(x2 + off);
            t = f32x4.sub(r2, c0);
            e20 = madd(t, t, e20);
            t = f32x4.sub(r2, c1);
            e21 = madd(t, t, e21);
            const r3 = v128.load(x3 + off);
            t = f32x4.sub(r3, c0);
            e30 = madd(t, t, e30);
            t = f32x4.sub(r3, c1);
            e31 = madd(t, t, e31);
          }
          d00 = f64x2.add(d00, widen(e00));
          d01 = f64x2.add(d01, widen(e01));
          d10 = f64x2.add(d10, widen(e10));
          d11 = f64x2.add(d11, widen(e11));
          d20 = f64x2.add(d20, widen(e20));
          d21 = f64x2.add(d21, widen(e21));
          d30 = f64x2.add(d30, widen(e30));
          d31 = f64x2.add(d31, widen(e31));
        }
        addEntry(D, dStride, i0, j0, d00);
        addEntry(D, dStride, i0, j1, d01);
        addEntry(D, dStride, i1, j0, d10);
        addEntry(D, dStride, i1, j1, d11);
        addEntry(D, dStride, i2, j0, d20);
        addEntry(D, dStride, i2, j1, d21);
        addEntry(D, dStride, i3, j0, d30);
        addEntry(D, dStride, i3, j1, d31);
      }
    }
  }
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

// ---------------------------------------------------------------------------------------------------------------
// Float64 row products (the LoRA deltas' inner products, lora/linalg.ts)

/** Columns per piece of rowProductsF64 (ROW_PRODUCT_PIECE in types.ts). */
const PIECE: i32 = 512;

@inline function addF64(C: usize, at: i32, v: v128): void {
  const p = C + (<usize>at << 3);
  store<f64>(p, load<f64>(p) + sumF64Lanes(v));
}

/**
 * C[i*ldc + j] += sum_l A[i*len + l] * B[j*len + l] for i < m, j < n (float64 rows). Columns go in pieces of PIECE;
 * within a piece each entry is summed in two float64 lanes (even and odd columns), the lanes are added and the piece
 * is added into C. `upper` != 0: A and B are the same rows and only entries with j >= i are needed (a few below
 * are filled too).
 */
export function rowProductsF64(A: usize, m: i32, B: usize, n: i32, len: i32, C: usize, ldc: i32, upper: i32): void {
  const rowBytes = <usize>len << 3;
  for (let l0: i32 = 0; l0 < len; l0 += PIECE) {
    const l1 = min(len, l0 + PIECE);
    const pairs = (l1 - l0) & ~1;
    const from = <usize>l0 << 3;
    const to = from + (<usize>pairs << 3);
    const odd = l0 + pairs < l1;
    let i: i32 = 0;
    for (; i + 2 <= m; i += 2) {
      const a0 = A + <usize>i * rowBytes;
      const a1 = a0 + rowBytes;
      let j: i32 = upper ? i - (i & 3) : 0;
      for (; j + 4 <= n; j += 4) {
        const b0 = B + <usize>j * rowBytes;
        const b1 = b0 + rowBytes;
        const b2 = b1 + rowBytes;
        const b3 = b2 + rowBytes;
        let s00 = f64x2.splat(0), s01 = f64x2.splat(0), s02 = f64x2.splat(0), s03 = f64x2.splat(0);
        let s10 = f64x2.splat(0), s11 = f64x2.splat(0), s12 = f64x2.splat(0), s13 = f64x2.splat(0);
        for (let off = from; off < to; off += 16) {
          const x0 = v128.load(a0 + off);
          const x1 = v128.load(a1 + off);
          const y0 = v128.load(b0 + off);
          const y1 = v128.load(b1 + off);
          const y2 = v128.load(b2 + off);
          const y3 = v128.load(b3 + off);
          s00 = f64x2.add(s00, f64x2.mul(x0, y0));
          s01 = f64x2.add(s01, f64x2.mul(x0, y1));
          s02 = f64x2.add(s02, f64x2.mul(x0, y2));
          s03 = f64x2.add(s03, f64x2.mul(x0, y3));
          s10 = f64x2.add(s10, f64x2.mul(x1, y0));
          s11 = f64x2.add(s11, f64x2.mul(x1, y1));
          s12 = f64x2.add(s12, f64x2.mul(x1, y2));
          s13 = f64x2.add(s13, f64x2.mul(x1, y3));
        }
        if (odd) {
          // the piece's last column, in lane 0
          const x0 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(a0 + to));
          const x1 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(a1 + to));
          const y0 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(b0 + to));
          const y1 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(b1 + to));
          const y2 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(b2 + to));
          const y3 = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(b3 + to));
          s00 = f64x2.add(s00, f64x2.mul(x0, y0));
          s01 = f64x2.add(s01, f64x2.mul(x0, y1));
          s02 = f64x2.add(s02, f64x2.mul(x0, y2));
          s03 = f64x2.add(s03, f64x2.mul(x0, y3));
          s10 = f64x2.add(s10, f64x2.mul(x1, y0));
          s11 = f64x2.add(s11, f64x2.mul(x1, y1));
          s12 = f64x2.add(s12, f64x2.mul(x1, y2));
          s13 = f64x2.add(s13, f64x2.mul(x1, y3));
        }
        const c0 = i * ldc + j;
        const c1 = c0 + ldc;
        addF64(C, c0, s00);
        addF64(C, c0 + 1, s01);
        addF64(C, c0 + 2, s02);
        addF64(C, c0 + 3, s03);
        addF64(C, c1, s10);
        addF64(C, c1 + 1, s11);
        addF64(C, c1 + 2, s12);
        addF64(C, c1 + 3, s13);
      }
      for (; j < n; j++) {
        const b0 = B + <usize>j * rowBytes;
        addF64(C, i * ldc + j, pieceDot(a0, b0, from, to, odd));
        addF64(C, (i + 1) * ldc + j, pieceDot(a1, b0, from, to, odd));
      }
    }
    for (; i < m; i++) {
      const a0 = A + <usize>i * rowBytes;
      for (let j: i32 = upper ? i : 0; j < n; j++) addF64(C, i * ldc + j, pieceDot(a0, B + <usize>j * rowBytes, from, to, odd));
    }
  }
}

/** One entry's piece as rowProductsF64 sums it: two lanes over [from, to), the odd last column in lane 0. */
@inline function pieceDot(a: usize, b: usize, from: usize, to: usize, odd: bool): v128 {
  let s = f64x2.splat(0);
  for (let off = from; off < to; off += 16) s = f64x2.add(s, f64x2.mul(v128.load(a + off), v128.load(b + off)));
  if (odd) s = f64x2.add(s, f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(a + to) * load<f64>(b + to)));
  return s;
}
