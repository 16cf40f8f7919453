/**
 * ggml tensor types as GGUF files number them (ggml-org/ggml `docs/gguf.md`, enum ggml_type), with the block
 * geometry of the ones this tool reads. Ids are looked up here and nowhere else: a type is known by its entry,
 * never by comparing raw numbers.
 */
import type { DType } from '../model/dtypes';
import type { GgmlQuantType } from './encoding';

export type GgmlTypeInfo =
  /** one element per "block": stored as a plain dtype */
  | { id: number; name: string; kind: 'plain'; dtype: DType; blockElements: 1; blockBytes: number }
  /** block-quantised, dequantised here */
  | { id: number; name: GgmlQuantType; kind: 'quant'; blockElements: number; blockBytes: number }
  /** a real ggml type without a dequantiser here (importance-matrix and ternary quants, Q8_K, MXFP4) */
  | { id: number; name: string; kind: 'unsupported' };

const plain = (id: number, dtype: DType, bytes: number): GgmlTypeInfo => ({ id, name: dtype, kind: 'plain', dtype, blockElements: 1, blockBytes: bytes });
const quant = (id: number, name: GgmlQuantType, blockElements: number, blockBytes: number): GgmlTypeInfo => ({ id, name, kind: 'quant', blockElements, blockBytes });
const unsupported = (id: number, name: string): GgmlTypeInfo => ({ id, name, kind: 'unsupported' });

const TABLE: readonly GgmlTypeInfo[] = [
  plain(0, 'F32', 4),
  plain(1, 'F16', 2),
  quant(2, 'Q4_0', 32, 18),
  quant(3, 'Q4_1', 32, 20),
  quant(6, 'Q5_0', 32, 22),
  quant(7, 'Q5_1', 32, 24),
  quant(8, 'Q8_0', 32, 34),
  unsupported(9, 'Q8_1'),
  quant(10, 'Q2_K', 256, 84),
  quant(11, 'Q3_K', 256, 110),
  quant(12, 'Q4_K', 256, 144),
  quant(13, 'Q5_K', 256, 176),
  quant(14, 'Q6_K', 256, 210),
  unsupported(15, 'Q8_K'),
  unsupported(16, 'IQ2_XXS'),
  unsupported(17, 'IQ2_XS'),
  unsupported(18, 'IQ3_XXS'),
  unsupported(19, 'IQ1_S'),
  unsupported(20, 'IQ4_NL'),
  unsupported(21, 'IQ3_S'),
  unsupported(22, 'IQ2_S'),
  unsupported(23, 'IQ4_XS'),
  plain(24, 'I8', 1),
  plain(25, 'I16', 2),
  plain(26, 'I32', 4),
  plain(27, 'I64', 8),
  plain(28, 'F64', 8),
  unsupported(29, 'IQ1_M'),
  plain(30, 'BF16', 2),
  unsupported(34, 'TQ1_0'),
  unsupported(35, 'TQ2_0'),
  unsupported(39, 'MXFP4'),
];

const BY_ID = new Map(TABLE.map((t) => [t.id, t]));
const BY_NAME = new Map(TABLE.map((t) => [t.name, t]));

/** Ids ggml once used and has since removed (Q4_2, Q4_3, and the repacked Q4_0_x_y / IQ4_NL_x_y variants). */
const REMOVED: ReadonlyMap<number, string> = new Map([
  [4, 'Q4_2'],
  [5, 'Q4_3'],
  [31, 'Q4_0_4_4'],
  [32, 'Q4_0_4_8'],
  [33, 'Q4_0_8_8'],
  [36, 'IQ4_NL_4_4'],
  [37, 'IQ4_NL_4_8'],
  [38, 'IQ4_NL_8_8'],
]);

export function ggmlType(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** The name of a type ggml no longer supports in GGUF files, if `id` is one. */
export function removedGgmlType(id: number): string | undefined {
  return REMOVED.get(id);
}

/** Block geometry of a dequantised type. */
export function ggmlQuantInfo(name: GgmlQuantType): { id: number; blockElements: number; blockBytes: number } {
  const t = BY_NAME.get(name);
  if (!t || t.kind !== 'quant') throw new Error(`not a ggml quant type: ${name}`);
  return t;
}

export const GGML_QUANT_TYPES: readonly GgmlQuantType[] = TABLE.flatMap((t) => (t.kind === 'quant' ? [t.name] : []));
