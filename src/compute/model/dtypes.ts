/** Tensor element types, spelled as safetensors spells them. Readers of other formats map into these. */
export const DTYPES = {
  BOOL: { bits: 8, kind: 'bool' },
  U8: { bits: 8, kind: 'uint' },
  I8: { bits: 8, kind: 'int' },
  F8_E5M2: { bits: 8, kind: 'float' },
  F8_E4M3: { bits: 8, kind: 'float' },
  F8_E8M0: { bits: 8, kind: 'float' },
  F8_E4M3FNUZ: { bits: 8, kind: 'float' },
  F8_E5M2FNUZ: { bits: 8, kind: 'float' },
  I16: { bits: 16, kind: 'int' },
  U16: { bits: 16, kind: 'uint' },
  F16: { bits: 16, kind: 'float' },
  BF16: { bits: 16, kind: 'float' },
  I32: { bits: 32, kind: 'int' },
  U32: { bits: 32, kind: 'uint' },
  F32: { bits: 32, kind: 'float' },
  C64: { bits: 64, kind: 'complex' },
  F64: { bits: 64, kind: 'float' },
  I64: { bits: 64, kind: 'int' },
  U64: { bits: 64, kind: 'uint' },
  F4: { bits: 4, kind: 'float' },
  F6_E2M3: { bits: 6, kind: 'float' },
  F6_E3M2: { bits: 6, kind: 'float' },
} as const;

export type DType = keyof typeof DTYPES;

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, s);
}

export function dtypeBits(d: DType): number {
  return DTYPES[d].bits;
}

/** Whole bytes per element; sub-byte types (F4, F6_*) have none and are read as packed bytes. */
export function bytesPerElement(d: DType): number | undefined {
  const b = DTYPES[d].bits;
  return b % 8 === 0 ? b / 8 : undefined;
}

/** Types whose values decode exactly into float32, so they can go through the float32 Gram kernels. */
export function decodesExactlyToF32(d: DType): boolean {
  return d === 'F16' || d === 'BF16' || d === 'F32' || d.startsWith('F8_') || d === 'BOOL' || d === 'U8' || d === 'I8' || d === 'I16' || d === 'U16';
}
