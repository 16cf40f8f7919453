import { join } from 'node:path';
import { analyze, ANALYSIS_FILE, parseTimeEmbed, writeAnalysis } from '../../compute';
import { parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { CACHE_OPTIONS, QUIET_OPTION, TIME_EMBED_OPTION } from '../options';
import { checkOutputFile } from '../paths';
import { shown } from '../terminal';
import { hashCachePath, OK, printLines, source, writeFailure } from './common';

export const analyzeSpec: CommandSpec = {
  name: 'analyze',
  brief: 'every analysis of a compare output into analysis.json',
  usage: ['<dir> [options]'],
  summary: 'Computes every analysis of a compare output (breakdowns, merge estimates, family views, lineage, health) into\n<dir>/analysis.json, which the panel, report and charts reuse.',
  positionals: { min: 1, max: 1 },
  options: {
    'time-embed': TIME_EMBED_OPTION,
    hashes: { type: 'boolean', help: 'also hash every file (full reads, cached) for lineage and shared components' },
    ...CACHE_OPTIONS,
    quiet: { ...QUIET_OPTION, help: 'no progress and no summary' },
  },
};

export async function analyzeCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(analyzeSpec, argv);
  if (!p) return EXIT.ok;
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const cache = hashCachePath(p);
  const src = source(p.positional[0]!);
  checkOutputFile(join(src.dir, ANALYSIS_FILE), 'the compare output folder');
  const quiet = p.flags.has('quiet');
  const a = await analyze(src, {
    hashCache: cache,
    computeHashes: p.flags.has('hashes'),
    signal,
    ...(timeEmbed ? { timeEmbed } : {}),
    ...(quiet ? {} : { onStep: (m: string) => process.stderr.write(`analysing: ${shown(m)}\n`) }),
  });
  let path: string;
  try {
    path = writeAnalysis(src.dir, a);
  } catch (e) {
    throw writeFailure(e, join(src.dir, ANALYSIS_FILE));
  }
  if (!quiet) {
    const bad = a.health.filter((h) => h.status !== 'ok').length;
    printLines([
      `Written ${shown(path)}`,
      `  breakdowns: ${Object.keys(a.breakdowns).join(', ') || 'none'} (time_embed in ${a.timeEmbed})`,
      `  merge estimates: ${a.recipes.length}; family views: ${a.family.map((f) => shown(f.component)).join(', ')}`,
      `  lineage: ${a.lineage.declaredEdges.length} declared parent links in the folder${a.lineage.hashesUsed ? ' (matched by hash)' : ' (matched by name)'}`,
      `  health: ${bad} of ${a.health.length} models with problems`,
      ...(a.shared ? [`  shared components: ${a.shared.length}`] : []),
      ...a.notes.map((n) => `  note: ${shown(n)}`),
    ]);
  }
  return OK;
}
