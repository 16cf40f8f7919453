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
  // Quantised storage (no file declares these names: readers give them to tensors whose values are dequantised from
  // codes plus scales, described by TensorRef.quant). Bits are the storage cost per element, scales included where
  // they sit inside the blocks. Without a dequantiser they are compared by their bytes only.
  Q4_0: { bits: 4.5, kind: 'quant' },
  Q4_1: { bits: 5, kind: 'quant' },
  Q5_0: { bits: 5.5, kind: 'quant' },
  Q5_1: { bits: 6, kind: 'quant' },
  Q8_0: { bits: 8.5, kind: 'quant' },
  Q2_K: { bits: 2.625, kind: 'quant' },
  Q3_K: { bits: 3.4375, kind: 'quant' },
  Q4_K: { bits: 4.5, kind: 'quant' },
  Q5_K: { bits: 5.5, kind: 'quant' },
  Q6_K: { bits: 6.5625, kind: 'quant' },
  F8_E4M3_SCALED: { bits: 8, kind: 'quant' },
  F8_E5M2_SCALED: { bits: 8, kind: 'quant' },
  BNB_NF4: { bits: 4, kind: 'quant' },
  BNB_FP4: { bits: 4, kind: 'quant' },
} as const;

export type DType = keyof typeof DTYPES;

/** A dtype a file may declare (safetensors header, torch storage); the quantised storage types are not among them. */
export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, s) && DTYPES[s as DType].kind !== 'quant';
}

/** A quantised storage type: its values exist only through TensorRef.quant. */
export function isQuantDType(d: DType): boolean {
  return DTYPES[d].kind === 'quant';
}

export function dtypeBits(d: DType): number {
  return DTYPES[d].bits;
}

/** Whole bytes per element; sub-byte types (F4, F6_*) and block-quantised ones have none and are read as packed bytes. */
export function bytesPerElement(d: DType): number | undefined {
  const b = DTYPES[d].bits;
  return b % 8 === 0 ? b / 8 : undefined;
}

/** Types whose values decode exactly into float32, so they can go through the float32 Gram kernels. */
export function decodesExactlyToF32(d: DType): boolean {
  return d === 'F16' || d === 'BF16' || d === 'F32' || (d.startsWith('F8_') && !isQuantDType(d)) || d === 'BOOL' || d === 'U8' || d === 'I8' || d === 'I16' || d === 'U16';
}
