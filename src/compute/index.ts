// The engine's public face: the CLI and the extension import from here only.
export { pairMetrics, type PairMetrics } from './pairMetrics';
export { compareModels, DEFAULT_TRUST_RATIO, type CompareOptions, type Progress } from './compare';
export { findModels, isDiffusersFolder } from './scan';
export { openCheckpoint, MODEL_EXTENSIONS } from './readers/registry';
export { loadModel, type LoadedModel } from './model';
export { readResult, pairLayers, findModelIndex, modelMap, RESULT_FILE, MODEL_MAP_FILE, type LayerRow } from './output/writers';
export { ModeldiffError, toModeldiffError, type ErrorCode, type SerializedError } from './errors';
export type { Checkpoint, TensorRef } from './checkpoint';
export * from './result';
export { TOOL_VERSION } from './version';
