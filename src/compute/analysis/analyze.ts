/**
 * `analysis.json`: everything the analyses can say about a compare output, for the extension's panel and the report.
 * Runs the analyses that need no model data (breakdowns, recipe estimates, family views, lineage) plus the health
 * checks (headers and position_ids only). File hashes come from the hash cache when it knows the files, or are
 * computed (full reads) on request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModeldiffError, throwIfAborted } from '../../shared/errors';
import { writeFileAtomic } from '../io/atomicWrite';
import { TOOL_VERSION } from '../output/toolVersion';
import { breakdownMatrix } from './breakdown';
import { familyViews } from './family';
import { DEFAULT_TIME_EMBED, SCHEME_NAMES, type TimeEmbedPlacement } from './groups';
import { HashCache, cachedModelHashes, modelHashes, sharedComponents } from './hashes';
import { checkHealth } from './health';
import { openSource, type ResultSource } from './layers';
import { lineageReport } from './lineage';
import { estimateRecipe } from './recipe';
import { ANALYSIS_SCHEMA_VERSION, type AnalysisFile, type BreakdownMatrix, type ModelHashes, type RecipeEstimate } from '../../shared/analysis';

export const ANALYSIS_FILE = 'analysis.json';

export interface AnalyzeOptions {
  timeEmbed?: TimeEmbedPlacement;
  /** hash cache file; its entries are used for lineage matching (null: no cache) */
  hashCache?: string | null;
  /** compute missing file hashes (reads every file in full) and component hashes (reads every tensor) */
  computeHashes?: boolean;
  signal?: AbortSignal;
  /** one line per step, for people */
  onStep?: (message: string) => void;
}

/** 7 significant digits: the precision of layers.bin's float32 values, without JSON's long tails. */
function round7(v: number | null): number | null {
  return v === null ? null : Number(v.toPrecision(7));
}

export async function analyze(source: string | ResultSource, opts: AnalyzeOptions = {}): Promise<AnalysisFile> {
  const src = openSource(source);
  const { result } = src;
  const step = (m: string) => opts.onStep?.(m);
  const timeEmbed = opts.timeEmbed ?? DEFAULT_TIME_EMBED;
  const notes: string[] = [];

  step('breakdowns');
  const breakdowns: AnalysisFile['breakdowns'] = {};
  for (const scheme of SCHEME_NAMES) {
    throwIfAborted(opts.signal);
    const m: BreakdownMatrix = breakdownMatrix(src, { scheme, timeEmbed });
    if (m.groups.length === 0 || m.pairs.length === 0) continue;
    m.l2 = m.l2.map((row) => row.map(round7));
    delete m.keys;
    breakdowns[scheme] = m;
  }

  step('merge-recipe estimates');
  const recipes: RecipeEstimate[] = [];
  for (const info of result.models) {
    throwIfAborted(opts.signal);
    if (!info.components.unet || result.models.length < 3) continue;
    recipes.push(estimateRecipe(src, info.index, { timeEmbed }));
  }
  if (result.models.length < 3) notes.push('merge recipes need at least three models');

  step('family views');
  const family = familyViews(result);

  let hashes: ModelHashes[] | null = null;
  const cache = opts.hashCache ? new HashCache(opts.hashCache) : null;
  if (opts.computeHashes) {
    step('hashes (reading every file)');
    hashes = [];
    for (const info of result.models) {
      const o: Parameters<typeof modelHashes>[1] = { components: true, extractWeights: !!result.options.extractWeights };
      if (cache) o.cache = cache;
      if (opts.signal) o.signal = opts.signal;
      hashes.push(await modelHashes(info.path, o));
    }
    cache?.save();
  } else if (cache) {
    const found = result.models.map((m) => cachedModelHashes(m.path, cache));
    if (found.some((h) => h !== null)) hashes = found.map((h, i) => h ?? { file: result.models[i]!.file, path: result.models[i]!.path, hashes: null, components: null });
  }
  if (!hashes) notes.push('no file hashes: declared parents were matched by name only (run with hashes to match by hash)');

  step('lineage');
  const lineage = lineageReport(result, { hashes: hashes ? hashes.map((h) => h.hashes) : null });

  step('health');
  const health = await checkHealth(src, opts.signal ? { signal: opts.signal } : {});

  return {
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    tool: { name: 'modeldiff', version: TOOL_VERSION },
    createdAt: new Date().toISOString(),
    resultCreatedAt: result.createdAt,
    timeEmbed,
    breakdowns,
    recipes,
    family,
    lineage,
    health,
    hashes,
    shared: hashes && hashes.some((h) => h.components) ? sharedComponents(hashes) : null,
    notes,
  };
}

export function writeAnalysis(dir: string, analysis: AnalysisFile): string {
  const path = join(dir, ANALYSIS_FILE);
  writeFileAtomic(path, JSON.stringify(analysis));
  return path;
}

export function readAnalysis(dir: string): AnalysisFile {
  let text: string;
  try {
    text = readFileSync(join(dir, ANALYSIS_FILE), 'utf8');
  } catch {
    throw new ModeldiffError('USAGE', `no ${ANALYSIS_FILE} in ${dir}: run \`modeldiff analyze ${dir}\` first`);
  }
  const a = JSON.parse(text) as AnalysisFile;
  if (a.schemaVersion !== ANALYSIS_SCHEMA_VERSION) throw new ModeldiffError('USAGE', `${ANALYSIS_FILE} in ${dir} has schema version ${a.schemaVersion}, this tool reads ${ANALYSIS_SCHEMA_VERSION}`);
  return a;
}
