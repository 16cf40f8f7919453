/**
 * Runs the engine from the command line for every command that compares (compare; report and charts given models):
 * the compare options checked before any work, the inputs and the output folder checked before anything is written,
 * a progress line on stderr, and Ctrl-C / SIGTERM as cancellation.
 */
import { resolve } from 'node:path';
import { compareModels, findModels, HashCache, KNOWN_COMPONENTS, MODEL_EXTENSIONS, ModeldiffError, type CompareOptions, type CompareResult } from '../compute';
import { intFlag, listFlag, stringFlag, type Parsed } from './args';
import { hashCachePath } from './commands/common';
import { MAX_WORKERS, MEMORY_MIB } from './options';
import { checkInputs, checkOutputFolder } from './paths';
import { progressBar } from './progressBar';
import { shown } from './terminal';

export interface CompareSettings {
  components: string[] | null;
  includeEma: boolean;
  workers: number | undefined;
  memoryBudgetMiB: number | undefined;
  hashCache: string | null | undefined;
  extractWeights: boolean;
  /** ignore a checkpoint an interrupted run left (compare --fresh) */
  fresh: boolean;
  /** --base: the checkpoint LoRAs among the inputs were trained on (compute/pipeline/loraCompare.ts) */
  base: string | undefined;
}

/** The compare options of a command line, every value checked (a usage error otherwise). */
export function compareSettings(p: Parsed): CompareSettings {
  return {
    components: listFlag(p, 'components', KNOWN_COMPONENTS, 'component') ?? null,
    includeEma: !p.flags.has('no-ema'),
    workers: intFlag(p, 'workers', 0, MAX_WORKERS),
    memoryBudgetMiB: intFlag(p, 'memory', MEMORY_MIB.min, MEMORY_MIB.max),
    hashCache: p.flags.has('hashes') ? hashCachePath(p) : undefined,
    extractWeights: p.flags.has('extract-weights'),
    fresh: p.flags.has('fresh'),
    base: stringFlag(p, 'base'),
  };
}

/** The engine options of the settings (all but the output folder, the progress callback and the signal). */
export function engineOptions(s: CompareSettings): Omit<CompareOptions, 'outDir'> {
  return {
    components: s.components,
    includeEma: s.includeEma,
    workers: s.workers,
    memoryBudgetMiB: s.memoryBudgetMiB,
    hashes: s.hashCache === undefined ? null : { cache: new HashCache(s.hashCache) },
    extractWeights: s.extractWeights,
    fresh: s.fresh,
    checkpointSeconds: checkpointSeconds(),
    onNotice: (m) => process.stderr.write(`modeldiff: ${shown(m)}\n`),
  };
}

/** MODELDIFF_CHECKPOINT_SECONDS: least time between two checkpoints (default 5; 0: after every part of the work). */
function checkpointSeconds(): number | undefined {
  const v = process.env.MODELDIFF_CHECKPOINT_SECONDS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ModeldiffError('USAGE', `MODELDIFF_CHECKPOINT_SECONDS is a number of seconds >= 0 (got "${v}")`);
  return n;
}

/**
 * Compares `inputs` into `outDir`. Before any work: every input exists (else a usage error), the output folder can
 * be written (else a usage error naming `outOption`), and the inputs hold two models or more (else
 * NOTHING_TO_COMPARE, with the output folder untouched).
 */
export async function compareWithProgress(inputs: string[], outDir: string, s: CompareSettings, outOption: string, signal: AbortSignal): Promise<CompareResult> {
  checkInputs(inputs);
  if (s.base !== undefined) checkInputs([s.base]);
  checkOutputFolder(outDir, outOption);
  const paths = inputs.map((f) => resolve(f));
  const found = await findModels(paths);
  if (found.length < 2) {
    const what = found.length === 0 ? `no model files in ${inputs.map(shown).join(', ')} (looked for ${MODEL_EXTENSIONS.join(' ')} files and diffusers folders)` : `only one model file in ${inputs.map(shown).join(', ')}`;
    throw new ModeldiffError('NOTHING_TO_COMPARE', `nothing to compare: ${what}; give at least two models`);
  }
  const bar = progressBar();
  try {
    return await compareModels(paths, {
      ...engineOptions(s),
      outDir: resolve(outDir),
      signal,
      onProgress: bar.update,
      minModels: 2,
      ...(s.base !== undefined ? { base: resolve(s.base) } : {}),
    });
  } finally {
    bar.done();
  }
}
