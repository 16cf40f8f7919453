/**
 * Data the analyses produce: plain JSON-able objects (numbers, strings, arrays, null), so the CLI, the extension's
 * panel and the HTML report can all load them. `analysis.json` (written beside result.json by `modeldiff analyze`)
 * is exactly an AnalysisFile.
 *
 * Distances are L2 (Euclidean) distances between flattened tensors, as in result.json; null means "no value"
 * (missing in a model, shapes differ, values not finite, or nothing to compare).
 */
import type { Arch, Component } from './result';

/** The ways a pair's distance is broken down: merge blocks, layer types, VAE parts, text-encoder layers. */
export type SchemeName = 'block' | 'type' | 'vae' | 'te';

/** Where `time_embed.*` / `label_emb.*` go: BASE (sd-mecha) or IN00 (SuperMerger, meh). */
export type TimeEmbedPlacement = 'BASE' | 'IN00';

/**
 * The merge-block layout of a diffusion model: UNets with 12 input/output blocks (SD 1.x, SD 2.x, SDXL refiner) or
 * 9 (SDXL base); FLUX-style transformers (embedders, double_blocks, single_blocks, final_layer); SD3's MMDiT
 * (embedders, joint_blocks, final_layer).
 */
export type UnetLayout = 'sd' | 'sdxl' | 'flux' | 'sd3';

/** Block names of the transformer layouts: ComfyUI's model-merge nodes (double_blocks.0...) or SuperMerger's (D00...). */
export type BlockNaming = 'comfyui' | 'supermerger';

// ---------------------------------------------------------------------------------------------------------------
// Breakdowns

export interface GroupStat {
  group: string;
  /** sqrt(sum over the group's keys with a value of per-layer L2^2); null when no key of the group has a value */
  l2: number | null;
  /** keys of the group with a value for this pair */
  keys: number;
  /** of those, keys whose L2 is not 0 */
  changedKeys: number;
  /** l2^2 / (sum of l2^2 over all groups of the breakdown); null when the total is 0 */
  share: number | null;
}

export interface PairBreakdown {
  scheme: SchemeName;
  /** the conventions in force (layout, time_embed placement), for people */
  description: string;
  timeEmbed: TimeEmbedPlacement;
  layout: UnetLayout;
  a: number;
  b: number;
  fileA: string;
  fileB: string;
  /** groups with at least one key, in display order */
  groups: GroupStat[];
  total: { l2: number | null; keys: number; changedKeys: number };
}

/** group x pair over a whole folder (the heatmap): l2[g][p] is group g of result.pairs[p]. */
export interface BreakdownMatrix {
  scheme: SchemeName;
  description: string;
  timeEmbed: TimeEmbedPlacement;
  groups: string[];
  pairs: { a: number; b: number }[];
  /** per pair: the UNet layout its block labels follow */
  layouts: UnetLayout[];
  l2: (number | null)[][];
  changedKeys: number[][];
  /** keys with a value per group and pair (left out of analysis.json, where it would double the size) */
  keys?: number[][];
}

// ---------------------------------------------------------------------------------------------------------------
// Merge recipes

/**
 * Below this relative residual a fit is exact as far as the data can tell: layers.bin stores per-layer L2 as float32
 * (relative error ~6e-8), and the residual^2 = m_A - w^2 D_AB cancels, leaving about sqrt(1e-7) ~ 3e-4 of noise.
 * The weights themselves are much more precise (~1e-7 on exact synthetic merges).
 */
export const REL_RESIDUAL_FLOOR = 3e-3;

/**
 * Above this relative residual a mix of the parents does not explain the model (it is then about as far from the mix
 * as from its nearest parent): the views say the recipe does not fit instead of drawing its weights.
 */
export const RECIPE_FIT_MAX_REL_RESIDUAL = 0.5;

/**
 * Fit of M ~ sum_i w_i P_i (sum w_i = 1) on one group of keys, from squared distances only.
 * For two parents A, B this is M ~ (1 - w) A + w B with w = <M-A, B-A> / ||B-A||^2.
 */
export interface MixtureFit {
  group: string;
  /** keys used: those with a value for every pair among M and the parents */
  keys: number;
  /** best weights with w_i >= 0 and sum 1 (one per parent, in parent order) */
  weights: number[];
  /** least-squares weights with only sum 1 (may be negative or above 1: extrapolation, add-difference); null when
   *  the parents are affinely dependent on this group (e.g. two parents equal here) */
  free: number[] | null;
  /** ||M - sum w_i P_i|| for `weights` */
  residual: number;
  /** residual / min_i ||M - P_i||: 0 = exact mix, about 1 = explains no more than the nearest parent; 0 when M
   *  equals a parent on this group. Values under ~3e-3 (REL_RESIDUAL_FLOOR) are float32 rounding of the per-layer
   *  distances: an exact mix. */
  relResidual: number;
  /** ||M - free mix|| (null with free) */
  freeResidual: number | null;
  /** ||M - P_i|| on this group */
  distances: number[];
  /** false when the parents coincide (affinely dependent) here, so weights among them are not determined */
  identifiable: boolean;
}

export interface RecipeEstimate {
  model: number;
  file: string;
  parents: { model: number; file: string }[];
  /** how the parents were chosen */
  parentsFrom: 'user' | 'nearest' | 'declared';
  /** which component the blocks cover (the UNet or the transformer) and the conventions */
  description: string;
  timeEmbed: TimeEmbedPlacement;
  layout: UnetLayout;
  /** the whole diffusion model as one group (UNET or TRANSFORMER) */
  overall: MixtureFit | null;
  /** one fit per merge block (BASE, IN00, ... / img_in, double_blocks.0, ...), in block order */
  blocks: MixtureFit[];
  /** text encoders and VAE, one fit each (TE, TE0, TE1, CLIP_L, CLIP_G, T5XXL, VAE) */
  components: MixtureFit[];
  /** when the parents were chosen automatically: the candidates tried, best first (component-level fit) */
  candidates?: { parents: number[]; relResidual: number; weights: number[] }[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Hashes

export interface FileHashes {
  path: string;
  size: number;
  mtimeMs: number;
  /** SHA-256 of the whole file, lowercase hex (A1111 "sha256"; Civitai "SHA256" is the same in uppercase) */
  sha256: string;
  /** first 10 hex digits of sha256, uppercase (Civitai AutoV2; A1111's shorthash is the same in lowercase) */
  autov2: string;
  /** legacy A1111 hash (Civitai AutoV1): 8 lowercase hex digits of SHA-256 over bytes [0x100000, 0x110000),
   *  over whatever part of that range exists (e3b0c442, the empty-input hash, for files under 1 MiB) */
  legacy: string;
  /** Civitai never shows AutoV1 for files under 2 MiB; true when the file is that small */
  legacyUnreliable: boolean;
  /** SHA-256 of the safetensors data after the header (kohya sshs_model_hash), lowercase hex; null when the file is
   *  not safetensors. With a header of 16 MiB or more, hashed from byte 8 (Civitai's guard). */
  autov3: string | null;
  /** first 12 hex digits of autov3, uppercase (as Civitai's API shows AutoV3) */
  autov3Short: string | null;
  /** true when the 16 MiB header guard applied */
  autov3HeaderGuard?: boolean;
}

export interface ComponentHash {
  /** SHA-256 over the component's sorted (key without component prefix, dtype, shape, bytes) records, lowercase hex */
  sha256: string;
  tensors: number;
  bytes: number;
}

export interface ModelHashes {
  file: string;
  path: string;
  hashes: FileHashes | null;
  components: Record<Component, ComponentHash> | null;
  error?: string;
}

/**
 * A component content hash found in several files: the same VAE / text encoder recognised across files, whatever
 * the container, key order or component name (an SD1 text encoder reused as SDXL's CLIP-L is te in one file and te0
 * in the other).
 */
export interface SharedComponent {
  sha256: string;
  members: { file: string; component: Component }[];
  tensors: number;
  bytes: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Lineage

export type HashKind = 'sha256' | 'autov2' | 'legacy' | 'autov3';

export interface ModelMatch {
  model: number;
  file: string;
  by: HashKind | 'name';
}

export interface DeclaredParent {
  /** e.g. "A"/"B"/"C" (merge inputs), "merged_from", "training base", "ancestor" */
  role: string;
  name: string | null;
  /** a full SHA-256 when declared */
  sha256: string | null;
  /** a short hash (AutoV2/shorthash, 10 hex) when that is all that is declared */
  shortHash: string | null;
  /** legacy 8-hex hash when declared */
  legacyHash: string | null;
  /** this parent's own recipe, when the metadata nests it */
  recipe: DeclaredRecipe | null;
  /** the model of the folder it was matched to */
  match: ModelMatch | null;
}

export interface DeclaredRecipe {
  /** 'webui' (AUTOMATIC1111 checkpoint merger), 'supermerger', 'chattiori', or the declared type */
  tool: string;
  /** interpolation method / mode as declared ("Weighted sum", "Add difference", ...) */
  method: string | null;
  /** multiplier / alpha */
  alpha: number | null;
  beta: number | null;
  /** per-block weights as declared (SuperMerger "weights_alpha"), parsed to numbers when possible */
  blockWeights: number[] | null;
  parents: DeclaredParent[];
  /** the weights the method implies on [A, B, C] (sum 1), when the method is known: weighted sum [1-a, a],
   *  add difference [1, a, -a] */
  impliedWeights: number[] | null;
}

export interface DeclaredLineage {
  title: string | null;
  architecture: string | null;
  author: string | null;
  recipe: DeclaredRecipe | null;
  /** modelspec.merged_from */
  mergedFrom: DeclaredParent[];
  /** training base declared by a trainer (kohya ss_sd_model_name / ss_sd_model_hash / ss_new_sd_model_hash) */
  trainedFrom: DeclaredParent | null;
  /** every model named in sd_merge_models that is not a direct parent */
  ancestors: DeclaredParent[];
  /** hashes the file declares of itself (modelspec.hash_sha256, sshs_model_hash), to check against the computed ones */
  selfHashes: { key: string; value: string; matches: boolean | null }[];
  /** metadata keys that carried lineage */
  keys: string[];
  /** unparseable values and other remarks */
  notes: string[];
}

export interface ModelLineage {
  model: number;
  file: string;
  declared: DeclaredLineage;
  /** the declared direct parents: recipe parents, else modelspec.merged_from, else the training base */
  parents: DeclaredParent[];
  /** the nearest distinct UNets by L2, nearest first (one model per group at L2 0 from each other; models whose UNet
   *  is bit-identical to this one's or holds the same values are in `sameUnet` / `equalUnet` instead; a model at L2 0
   *  that is neither, one with NaN/Inf left out of the distance, is listed here at 0) */
  nearest: { model: number; file: string; l2: number }[];
  /** models whose UNet is bit-identical to this one's (result.json status 'identical'): copies, not parents */
  sameUnet: number[];
  /** models whose UNet holds the same values but is not bit-identical (status 'equal_values': another dtype, extra or
   *  mismatched keys): copies in value, not parents */
  equalUnet: number[];
  /** declared parents found in the folder that are also among the `nearest` */
  confirmed: number[];
  /** declared parents found in the folder but not among the nearest */
  unconfirmed: number[];
  /** the merge estimated from the measured UNet distances (result.json) with the declared parents found in the
   *  folder, when there are two or more; weights in the order of `estimateParents` */
  estimate: MixtureFit | null;
  estimateParents: number[];
}

export interface LineageReport {
  models: ModelLineage[];
  /** declared parent -> child edges between models of the folder */
  declaredEdges: { parent: number; child: number; role: string }[];
  /** whether file hashes were available for matching (otherwise names only) */
  hashesUsed: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Health

export interface PositionIdsCheck {
  key: string;
  dtype: string;
  shape: number[];
  /** ok: exact integers 0..N-1 (any dtype); corrupt: anything else; unreadable: the bytes could not be read */
  status: 'ok' | 'corrupt' | 'unreadable';
  /** max |value - index| */
  maxDeviation: number | null;
  /** number of elements that are not exactly their index */
  badCount: number;
  /** the first few bad elements */
  bad: { index: number; value: number }[];
  /** every value rounds to its index (the usual merge drift, fixable by rounding) */
  fixableByRounding: boolean;
  error?: string;
}

export interface WastedSpace {
  /** EMA shadow tensors (model_ema.*, decay and num_updates excepted) */
  emaTensors: number;
  emaBytes: number;
  /** 'F16' / 'BF16' when most float parameters are 16-bit, else 'F32' etc. */
  dominantFloat: string | null;
  /** float tensors wider than 16 bits in a mostly 16-bit model, and the bytes storing them in F16 would save */
  wideInHalfTensors: number;
  wideInHalfSavings: number;
  /** what storing every wider float tensor as F16 would save (an fp16 copy), EMA excluded */
  fp16CopySavings: number;
  /** bytes of unexpected keys */
  unexpectedBytes: number;
}

export interface ModelHealth {
  model: number;
  file: string;
  arch: Arch;
  positionIds: PositionIdsCheck[];
  nonFinite: { keys: string[]; count: number };
  /** all-zero tensors; `benign` are those that are zeros by design (logvar...) */
  allZero: { keys: string[]; count: number; benign: string[] };
  missingComponents: string[];
  /** keys outside the architecture's known prefixes and top-level buffers */
  unexpectedKeys: { keys: string[]; count: number };
  wasted: WastedSpace | null;
  /** one line per finding, worst first */
  findings: { severity: 'error' | 'warning' | 'info'; message: string }[];
  status: 'ok' | 'warning' | 'error';
  /** the model file could not be opened again (moved, changed...) */
  error?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Family

export interface DendrogramNode {
  id: number;
  /** leaf: the model; inner node: undefined */
  model?: number;
  file?: string;
  /** inner node: its two children (node ids) */
  children?: [number, number];
  /** inner node: average-linkage distance at which the children merged (0 for a leaf) */
  height: number;
  /** models under this node */
  size: number;
  /** number of model pairs across the two children that had a distance (the average is over these) */
  linkedPairs?: number;
}

export interface Dendrogram {
  component: Component;
  /** every node, leaves first (ids 0..leaves-1), then merges in order */
  nodes: DendrogramNode[];
  /** roots: one when every cluster could be linked; several when some groups share no comparable pair */
  roots: number[];
  /** models without the component */
  absent: number[];
}

export interface MstEdge {
  a: number;
  b: number;
  l2: number;
}

export interface SpanningTree {
  component: Component;
  edges: MstEdge[];
  /** suggested direction: each tree rooted at its median (least total path length along the tree to the others),
   *  edges parent -> child. A heuristic: distances cannot tell a parent from a child. */
  directed: { parent: number; child: number; l2: number }[];
  roots: number[];
  absent: number[];
}

export interface FamilyView {
  component: Component;
  dendrogram: Dendrogram;
  mst: SpanningTree;
}

// ---------------------------------------------------------------------------------------------------------------
// analysis.json

export const ANALYSIS_SCHEMA_VERSION = 1;

export interface AnalysisFile {
  schemaVersion: typeof ANALYSIS_SCHEMA_VERSION;
  tool: { name: 'modeldiff'; version: string };
  createdAt: string;
  /** result.json's createdAt, to notice a stale analysis */
  resultCreatedAt: string;
  timeEmbed: TimeEmbedPlacement;
  /** folder heatmaps: group x pair per scheme */
  breakdowns: Partial<Record<SchemeName, BreakdownMatrix>>;
  /** one estimate per model with a UNet (parents: the best-fitting pair among its nearest models) */
  recipes: RecipeEstimate[];
  /** per component present in two models or more */
  family: FamilyView[];
  lineage: LineageReport;
  health: ModelHealth[];
  /** file and component hashes, when computed or found in the cache (null for a model without any) */
  hashes: ModelHashes[] | null;
  shared: SharedComponent[] | null;
  notes: string[];
}
