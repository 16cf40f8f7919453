// The analyses' public face: pure functions over a compare output (result.json + layers.bin) or opened models.
export * from '../../shared/analysis';
export {
  SCHEME_NAMES,
  DEFAULT_TIME_EMBED,
  LAYER_TYPES,
  VAE_PARTS,
  makeScheme,
  orderLabels,
  blockLabels,
  unetBlockOf,
  unetTypeOf,
  vaePartOf,
  tePartOf,
  unetLayoutOf,
  pairLayout,
  isSchemeName,
  parseTimeEmbed,
  type GroupScheme,
  type SchemeOptions,
  type LayerType,
} from './groups';
export { LayersReader, openSource, withLayers, type ResultSource } from './layers';
export { breakdown, breakdownMatrix, breakdownRows, type BreakdownOptions, type LayerValue } from './breakdown';
export { estimateRecipe, fitMixture, fitTwo, chooseParents, componentD2, mixtureResidual2, MAX_PARENTS, type RecipeOptions, type ChooseParentsOptions } from './recipe';
export {
  fileHashes,
  componentHashes,
  modelHashes,
  cachedModelHashes,
  sharedComponents,
  matchHash,
  componentRelativeKey,
  defaultHashCachePath,
  HashCache,
  LEGACY_OFFSET,
  LEGACY_LENGTH,
  AUTOV3_HEADER_GUARD,
  type HashOptions,
} from './hashes';
export { declaredLineage, parseRecipe, lineageReport, matchDeclared, normalizeModelName, splitNameAndHash, type LineageOptions } from './lineage';
export { checkHealth, modelHealth, checkPositionValues, unexpectedKeys, wastedSpace, EXPECTED_COMPONENTS, KNOWN_PREFIXES, KNOWN_TOP_LEVEL } from './health';
export { familyView, familyViews, componentMatrix, averageLinkage, minimumSpanningForest, orientForest, dendrogram, spanningTree, type ComponentMatrix } from './family';
export { analyze, writeAnalysis, readAnalysis, ANALYSIS_FILE, type AnalyzeOptions } from './analyze';
export { canReuse, hasEveryHash, type AnalysisWanted } from './reuse';
export { analyzeInWorker } from '../workers/analyzeInWorker';
