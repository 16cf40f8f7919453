/**
 * What a comparison produces. `result.json` is exactly a CompareResult (documented by schema/result.schema.json);
 * the per-layer values of every pair live beside it in `layers.bin` (see src/compute/output/layersFile.ts).
 */
import type { SerializedError } from './errors';

export const RESULT_SCHEMA_VERSION = 1;

/** Components in display order. `te` is the SD1/SD2 text encoder, `te0`/`te1` SDXL's CLIP-L and OpenCLIP bigG. */
export const SD_COMPONENTS = ['unet', 'te', 'te0', 'te1', 'vae', 'ema', 'other'] as const;
export type Component = string;

/** The container a model was read from. */
export type CheckpointFormat = 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'diffusers' | 'gguf';

export type Arch = 'sd1' | 'sd2' | 'sdxl-base' | 'sdxl-refiner' | 'generic';

export interface ComponentStats {
  tensors: number;
  params: number;
  bytes: number;
  /** dtype -> number of tensors of that dtype */
  dtypes: Record<string, number>;
}

export interface ModelInfo {
  index: number;
  /** File (or folder) name. */
  file: string;
  /**
   * The name to show people: `file`, or where two models of the result share a file name, the shortest end of their
   * paths that tells them apart ("a/m.safetensors" and "b/m.safetensors"). Written by compare; readResult fills it
   * in for an older result.json. Show it through `modelLabel`.
   */
  displayName?: string;
  path: string;
  format: CheckpointFormat;
  arch: Arch;
  /** One line about what was recognised: "SD 1.x (inpainting UNet)", "SDXL base, no VAE"... */
  archDetail: string;
  sizeBytes: number;
  tensorCount: number;
  paramCount: number;
  components: Record<Component, ComponentStats>;
  metadata: Record<string, string>;
  /** Aliases normalised, skipped entries, missing expected components... */
  notes: string[];
  /** Found while the engine read every tensor once: keys with NaN/Inf values and keys that are all zeros. */
  tensorHealth: TensorHealth;
  /** Only when hashes were asked for (compare --hashes): computed during the run, or found in the hash cache. */
  hashes?: ModelHashSummary;
}

/** A model's hashes as the community tools define them (see src/compute/analysis/hashes.ts); null where not computable. */
export interface ModelHashSummary {
  /** SHA-256 of the whole file, lowercase hex (null for a diffusers folder) */
  sha256: string | null;
  /** Civitai AutoV2: first 10 hex digits of sha256, uppercase */
  autov2: string | null;
  /** legacy AUTOMATIC1111 hash (Civitai AutoV1), 8 lowercase hex digits */
  legacy: string | null;
  /** SHA-256 of the safetensors data after the header (Civitai AutoV3, kohya sshs_model_hash); null if not safetensors */
  autov3: string | null;
  /** component -> content hash (same component in any container or key order has the same hash) */
  components: Record<string, string> | null;
}

export interface TensorHealth {
  nonFinite: string[];
  allZero: string[];
  /** totals (the lists stop at MAX_HEALTH_KEYS) */
  nonFiniteCount: number;
  allZeroCount: number;
}

export const MAX_HEALTH_KEYS = 200;

export interface FileError extends SerializedError {
  file: string;
  path: string;
}

export type ComponentStatus =
  | 'identical' // same keys, bitwise-equal bytes, same dtypes
  | 'equal_values' // all shared values equal, but bytes, dtypes or key sets differ
  | 'changed'
  | 'only_in_a'
  | 'only_in_b'
  | 'not_comparable'; // present in both, but no shared key of equal shape

export interface ComponentDiff {
  status: ComponentStatus;
  /** sqrt(sum over shared equal-shape keys of ||a-b||^2); null when not comparable. */
  l2: number | null;
  /** flattened cosine over the shared equal-shape keys; null when not comparable or a side is all zeros. */
  cosine: number | null;
  identical: boolean;
  equal_values: boolean;
  /** keys present in both with the same shape */
  shared: number;
  only_a: number;
  only_b: number;
  /** keys present in both with different shapes */
  mismatched: number;
  /** keys in both whose dtypes differ */
  dtype_diff: number;
  /** shared keys whose values differ */
  changed: number;
  /** shared keys with NaN/Inf values (left out of l2 and cosine; equal only when bit-identical) */
  non_finite: number;
  /** shared keys of a dtype without arithmetic here (complex, FP8 FNUZ, packed FP4/FP6): compared by their bytes only,
   *  left out of l2 and cosine */
  bytes_only: number;
}

export interface KeyDifference {
  key: string;
  a?: string;
  b?: string;
}

export interface PairDifferences {
  only_a: string[];
  only_b: string[];
  /** key with both shapes, "a" and "b" written like "[320,4,3,3]" */
  mismatched: KeyDifference[];
  /** key with both dtypes */
  dtype: KeyDifference[];
  /** true when a list was cut at MAX_LISTED_DIFFERENCES */
  truncated: boolean;
}

export const MAX_LISTED_DIFFERENCES = 2000;

export interface PairResult {
  a: number;
  b: number;
  components: Record<Component, ComponentDiff>;
  differences: PairDifferences;
  /** Only when the pair was drilled into with the extra metrics (L1, L0, max |diff|). */
  extra?: Record<Component, { l1: number; l0: number; max_abs: number; elements: number }>;
}

export interface LayersIndex {
  /** file name beside result.json */
  file: string;
  /** canonical key names, in the order of the file's rows */
  keys: string[];
  keyComponents: Component[];
  /** number of pairs (columns): pair p is result.pairs[p] */
  pairs: number;
  planes: ('l2' | 'cosine')[];
}

export interface CompareOptionsEcho {
  metric: 'l2' | 'cosine';
  components: Component[] | null;
  includeEma: boolean;
  workers: number;
  memoryBudgetMiB: number;
  /** PyTorch files were read in extract-weights mode (src/compute/readers/pytorch/extractWeights.ts): re-open them the same way */
  extractWeights?: boolean;
}

export interface CompareResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  tool: { name: 'modeldiff'; version: string };
  createdAt: string;
  options: CompareOptionsEcho;
  models: ModelInfo[];
  errors: FileError[];
  /** components present in at least one model, in display order */
  components: Component[];
  pairs: PairResult[];
  layers: LayersIndex;
  stats: {
    seconds: number;
    bytesRead: number;
    bytesTotal: number;
    tensorsCompared: number;
    /** tensor groups skipped without arithmetic because every member was bit-identical */
    identicalGroups: number;
    /** pair-chunks the cancellation guard recomputed directly */
    guardRecomputes: number;
    kernels: string;
  };
}

/** The name of a model as people should see it (see ModelInfo.displayName). */
export function modelLabel(m: Pick<ModelInfo, 'file' | 'displayName'>): string {
  return m.displayName ?? m.file;
}

/** Index of pair (a, b), a < b, in `pairs` (row-major upper triangle). */
export function pairIndex(a: number, b: number, n: number): number {
  if (a > b) [a, b] = [b, a];
  return a * n - (a * (a + 1)) / 2 + (b - a - 1);
}
