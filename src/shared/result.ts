/**
 * What a comparison produces. `result.json` is exactly a CompareResult (documented by schema/result.schema.json);
 * the per-layer values of every pair live beside it in `layers.bin` (see src/compute/output/layersFile.ts).
 */
import type { SerializedError } from './errors';

export const RESULT_SCHEMA_VERSION = 1;

/**
 * Components in display order: the diffusion model (`unet` of the UNet families, `transformer` of the DiT families),
 * the text encoders (`te` the SD1/SD2 one, `te0`/`te1` SDXL's CLIP-L and OpenCLIP bigG, `clip_l`/`clip_g`/`t5xxl`
 * those of FLUX.1 and SD3), the VAE, the EMA copy, everything else.
 */
export const SD_COMPONENTS = ['unet', 'transformer', 'te', 'te0', 'te1', 'clip_l', 'clip_g', 't5xxl', 'vae', 'ema', 'other'] as const;
export type Component = string;

/** The diffusion-model components, in the order a default view picks one. */
export const DIFFUSION_COMPONENTS = ['unet', 'transformer'] as const;

/** The component a view shows first: the diffusion model when the result has one. */
export function primaryComponent(components: readonly string[]): string | undefined {
  return DIFFUSION_COMPONENTS.find((c) => components.includes(c)) ?? components[0];
}

/** The container a model was read from. */
export type CheckpointFormat = 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'diffusers' | 'gguf';

/**
 * The architecture recognised from the keys (src/compute/keys/architectures.ts): a family of checkpoints, or for a
 * file holding one component alone the architecture of that component (`vae-16ch`, `clip-l`...). `generic`: unknown.
 */
export type Arch =
  | 'sd1'
  | 'sd2'
  | 'sdxl-base'
  | 'sdxl-refiner'
  | 'flux-dev'
  | 'flux-schnell'
  | 'chroma'
  | 'flux2'
  | 'sd3-medium'
  | 'sd35-medium'
  | 'sd35-large'
  | 'vae-4ch'
  | 'vae-16ch'
  | 'clip-l'
  | 'clip-g'
  | 't5xxl'
  | 'generic';

/** What a file holds: a full checkpoint, or one part of a model. */
export type FileRole = 'checkpoint' | 'diffusion_model' | 'text_encoder' | 'vae' | 'unknown';

export const FILE_ROLE_LABEL: Readonly<Record<FileRole, string>> = {
  checkpoint: 'full checkpoint',
  diffusion_model: 'diffusion model only',
  text_encoder: 'text encoder only',
  vae: 'VAE only',
  unknown: 'unknown',
};

export interface ComponentStats {
  tensors: number;
  params: number;
  bytes: number;
  /** dtype -> number of tensors of that dtype */
  dtypes: Record<string, number>;
  /** for people: "FLUX.1 transformer", "T5-XXL text encoder" (absent for components of an unknown architecture) */
  name?: string;
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
  /** What the file holds: a full checkpoint, the diffusion model only, a text encoder only, a VAE only (absent in
   *  results written before roles: read as a full checkpoint). */
  role?: FileRole;
  /** Variants of the family told by its keys or metadata: "v-prediction", "zero terminal SNR", "EDM"... */
  variants?: string[];
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
  /**
   * Present when the file is a LoRA / LyCORIS network: it is compared by the change it makes to the base's weights
   * (its effective delta), never by its raw factors. Its `components` then count the base weights it changes.
   */
  lora?: LoraInfo;
}

/** What a LoRA file is, as read (src/compute/lora). */
export interface LoraInfo {
  /** The base family it was mapped onto: "SDXL", "SD 1.x", "FLUX.1"... */
  family: string;
  /** How the family was decided (the base, metadata, module names). */
  familyFrom: string;
  /** The key space its targets are expressed in: a base checkpoint or a family's standard keys. */
  keySpace: string;
  /** Naming convention of its modules: kohya, peft, diffusers... */
  naming: string;
  /** Network modules by kind (lora, loha, lokr, full). */
  modules: Record<string, number>;
  /** Distinct ranks of its low-rank modules, ascending. */
  ranks: number[];
  /** Distinct alpha / rank scales, ascending (1 where no alpha is stored). */
  scales: number[];
  dora: boolean;
  /** Base weights it changes, in all and per component. */
  targets: number;
  targetsByComponent: Record<string, number>;
  /** The first target keys per component (at most MAX_LORA_TARGETS_LISTED each), for the tree. */
  targetKeys: Record<string, string[]>;
}

export const MAX_LORA_TARGETS_LISTED = 50;

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
  /** F16/BF16 tensors read, and those whose every value is exactly representable in an fp8 format (an fp8 model
   *  stored in 16 bits shows all of them) */
  halfPrecision?: Fp8Exactness;
  /** plain (unscaled) fp8 tensors read, and those reaching the largest finite fp8 value (a scaled-fp8 tensor whose
   *  scale is missing does) */
  plainFp8?: { tensors: number; params: number; atMaxTensors: number; atMaxParams: number };
}

export interface Fp8Exactness {
  tensors: number;
  params: number;
  e4m3fnTensors: number;
  e4m3fnParams: number;
  e5m2Tensors: number;
  e5m2Params: number;
}

export const MAX_HEALTH_KEYS = 200;

export interface FileError extends SerializedError {
  file: string;
  path: string;
}

export type ComponentStatus =
  | 'identical' // same keys, bitwise-equal bytes, same dtypes
  | 'equal_values' // all shared values equal, but bytes, dtypes or key sets differ
  | 'same_delta' // LoRAs (or a LoRA and a checkpoint difference): equal changes to float rounding, whatever the bytes
  | 'changed'
  | 'only_in_a'
  | 'only_in_b'
  | 'not_comparable'; // present in both, but no shared key of equal shape

/** Why a component present in both models was not compared. */
export type NotComparableReason = 'different_architectures';

export const NOT_COMPARABLE_REASON_LABEL: Readonly<Record<NotComparableReason, string>> = {
  different_architectures: 'different architectures',
};

/** "not comparable", with the reason when the result gives one: "not comparable: different architectures". */
export function notComparableText(c: { reason?: NotComparableReason }): string {
  return c.reason ? `not comparable: ${NOT_COMPARABLE_REASON_LABEL[c.reason] ?? c.reason}` : 'not comparable';
}

export interface ComponentDiff {
  status: ComponentStatus;
  /** with status not_comparable: the two models' components are of different architectures (a FLUX.1 transformer and
   *  an SD3 one, an SD 1.x UNet and an SDXL one...), so no key of theirs is compared, whatever their names */
  reason?: NotComparableReason;
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

/**
 * The default bound on the compare engine's buffers, all worker threads together, in MiB (CLI --memory, the
 * modeldiff.compare.memoryBudgetMiB setting). Chunks of 32K elements at 232 models: as fast as larger ones, and the
 * peak at 232 SDXL-layout models 65 MiB lower than at 256.
 */
export const DEFAULT_MEMORY_BUDGET_MIB = 128;

export interface CompareOptionsEcho {
  metric: 'l2' | 'cosine';
  components: Component[] | null;
  includeEma: boolean;
  workers: number;
  memoryBudgetMiB: number;
  /** PyTorch files were read in extract-weights mode (src/compute/readers/pytorch/extractWeights.ts): re-open them the same way */
  extractWeights?: boolean;
  /** The base checkpoint LoRAs were mapped onto and checkpoints measured from (compare --base), when one was given. */
  base?: string;
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
    /** LoRA comparisons: norms the cancellation guard recomputed directly (checkpoint comparisons: 0, no guard) */
    guardRecomputes: number;
    kernels: string;
    /** the run reused an earlier result (compare into a folder compared before): what it found and what it computed */
    incremental?: IncrementalStats;
  };
}

/** What an incremental compare run found and did (models and pairs). */
export interface IncrementalStats {
  /** the folder of the earlier result */
  previous: string;
  /** models unchanged since the earlier result */
  kept: number;
  new: number;
  /** models whose files changed since (compared again, as if new) */
  changed: number;
  /** models of the earlier result gone */
  removed: number;
  pairsComputed: number;
  pairsKept: number;
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
