// The engine's public face: the CLI and the extension import compute from here only (the layer rule in
// eslint.config.mjs enforces it); wire types and errors live in src/shared and are re-exported here for convenience.
export { pairMetrics, type PairMetrics } from './pipeline/pairMetrics';
export { compareModels, computeShard, mergeShards, type CompareOptions, type Progress, type ShardSummary } from './pipeline/compare';
export type { ShardSpec } from './pipeline/sumsRun';
export { findModels, isDiffusersFolder } from './readers/findModels';
export { latestResultOf } from './pipeline/incremental';
export { openCheckpoint, MODEL_EXTENSIONS } from './readers/registry';
export { KNOWN_COMPONENTS } from './keys/components';
export { DEFAULT_FACTOR_BUDGET_MIB } from './lora/pairwise';
export { loadModel, type LoadedModel } from './model/loadModel';
export { readResult, parseResult, pairLayers, findModelIndex, modelMap, RESULT_FILE, MODEL_MAP_FILE, type LayerRow } from './output/resultFiles';
export { ModeldiffError, toModeldiffError, type ErrorCode, type SerializedError } from '../shared/errors';
export type { Checkpoint, TensorRef } from './model/checkpoint';
export * from '../shared/result';
export { TOOL_VERSION } from './output/toolVersion';
export * from './analysis';
export { startHashPass, type HashPass, type HashPassOptions } from './pipeline/hashPass';
export { writeReport, DEFAULT_LAYERS_BUDGET_MIB, DEFAULT_DIFFERENCES_BUDGET_MIB, pairPriority, type ReportOptions, type ReportRenderer } from './output/report';
export { copyFileAtomic, writeFileAtomic } from './io/atomicWrite';
export { attributeInWorker } from './workers/attributeInWorker';
// LoRAs as models (issue 13): read onto a base's keys, all pairs by their deltas, attribution to a checkpoint.
export {
  readLora,
  looksLikeLora,
  baseKeySpace,
  standardKeySpace,
  forEachKeyPairs,
  PairTotals,
  attributeLoras,
  attributeFiles,
  type AttributeFilesOptions,
  type AttributeFilesResult,
  type FitSummary,
  differenceRows,
  FAMILY_LABEL as LORA_FAMILY_LABEL,
  type KeySpace,
  type KeyPairs,
  type GroupTotals,
  type PairwiseOptions,
  type ReadLoraOptions,
  type Attribution,
  type AttributeOptions,
  type LoraModel,
  type LoraTarget,
  type LoraModule,
  type LoraNote,
  type LoraFamily,
} from './lora/index';
