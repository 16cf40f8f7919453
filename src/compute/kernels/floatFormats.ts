// Element decoders from the format definitions (for the reference kernels and the reference dequantisers):
// value = (-1)^sign * 2^(exponent - bias) * (1 + mantissa / 2^bits) for normal numbers,
// (-1)^sign * 2^(1 - bias) * (mantissa / 2^bits) for exponent 0. All results are exact in float64 and in float32.

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
