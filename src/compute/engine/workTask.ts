import type { TensorRef } from '../model/checkpoint';
import type { FileIdentity } from '../io/regularFile';

/** Elements per chunk granule of a single pair's details (pairTask.ts): quantised ranges start on whole blocks. */
export const GRAM_BLOCK_COLUMNS = 512;

/**
 * The canonical block: every pair's sums over an item are added per block of this many elements counted from the
 * item's start, in block order, so their bits do not depend on the chunk size (a multiple of it) or on the other
 * members. A multiple of PAIR_SUB_COLUMNS (kernels/types.ts) and of every quantised block; divides SPLIT_ELEMENTS.
 */
export const SUM_BLOCK_ELEMENTS = 4096;

/** What a worker is asked to do: element ranges of units, each read once from every member. */
export interface WorkItem {
  unit: number;
  start: number;
  count: number;
  members: TensorRef[];
  /**
   * Rows-subset mode (incremental runs): length members.length, 1 = the member is new. When present, only the pairs
   * (i, j) with rowsWanted[i] || rowsWanted[j] are computed; the d2/dot/identical entries of the other pairs are left
   * unspecified and must be ignored by the caller. Every member's own facts (dot[i*m+i] = squared norm, nonFinite,
   * allZero, fp8Grid, fp8AtMax) are still computed, and every computed pair's bits equal those of a full run.
   */
  rowsWanted?: Uint8Array;
}

export interface WorkTask {
  items: WorkItem[];
  /** elements per member per chunk: bounds the worker's memory whatever the tensor size */
  chunkElements: number;
  kernels: 'wasm' | 'reference';
  /** the version of each file the items read, as its header was read: checked when opened and when the task ends */
  files: Record<string, FileIdentity>;
}

/** Where pair (i, j), i < j, of m members is in an item's pair arrays: the upper triangle, row by row. */
export function pairSlot(i: number, j: number, m: number): number {
  return (i * (2 * m - i - 1)) / 2 + (j - i - 1);
}

/**
 * Per item, over its element range, for members i < j (at pairSlot(i, j, m), m(m-1)/2 of them: 8.5 MB at 1,000
 * members, sent from a worker for every item): d2 = sum (x_i - x_j)^2, dot = sum x_i x_j, identical = bytes equal in
 * every chunk; per member, sq = sum x_i^2.
 */
export interface ItemResult {
  unit: number;
  start: number;
  count: number;
  m: number;
  d2: Float64Array;
  dot: Float64Array;
  sq: Float64Array;
  identical: Uint8Array;
  /** member holds NaN or Inf in this range */
  nonFinite: Uint8Array;
  /** member's values in this range are all exactly zero (checked on the decoded values, not from the Gram) */
  allZero: Uint8Array;
  /** the unit's dtypes cannot be decoded: only byte identity is known */
  undecodable: boolean;
  /** an F16/BF16 member's values in this range are all on an fp8 grid (fp8Grid.ts: FP8_E4M3FN | FP8_E5M2); 0 otherwise */
  fp8Grid: Uint8Array;
  /** a plain fp8 member holds the largest finite fp8 value in this range */
  fp8AtMax: Uint8Array;
}

export interface TaskResult {
  items: ItemResult[];
  bytesRead: number;
  kernels: string;
}
