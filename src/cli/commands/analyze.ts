import { analyze, parseTimeEmbed, writeAnalysis } from '../../compute';
import { parseArgs, stringFlag } from '../args';
import { EXIT } from '../exitCodes';
import { hashCachePath, source, usage } from './common';

const LINE = 'modeldiff analyze <dir> [--time-embed BASE|IN00] [--hashes] [--cache file | --no-cache] [--quiet]';

export async function analyzeCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, ['hashes', 'no-cache', 'quiet'], ['time-embed', 'cache']);
  const [dir] = p.positional;
  if (!dir) return usage(LINE);
  const src = source(dir);
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const quiet = p.flags.has('quiet');
    const a = await analyze(src, {
      hashCache: hashCachePath(p),
      computeHashes: p.flags.has('hashes'),
      signal,
      ...(timeEmbed ? { timeEmbed } : {}),
      ...(quiet ? {} : { onStep: (m: string) => process.stderr.write(`analysing: ${m}\n`) }),
    });
    const path = writeAnalysis(src.dir, a);
    if (!quiet) {
      const bad = a.health.filter((h) => h.status !== 'ok').length;
      const lines = [
        `Written ${path}`,
        `  breakdowns: ${Object.keys(a.breakdowns).join(', ') || 'none'} (time_embed in ${a.timeEmbed})`,
        `  merge estimates: ${a.recipes.length}; family views: ${a.family.map((f) => f.component).join(', ')}`,
        `  lineage: ${a.lineage.declaredEdges.length} declared parent links in the folder${a.lineage.hashesUsed ? ' (matched by hash)' : ' (matched by name)'}`,
        `  health: ${bad} of ${a.health.length} models with problems`,
        ...(a.shared ? [`  shared components: ${a.shared.length}`] : []),
        ...a.notes.map((n) => `  note: ${n}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }
  return EXIT.ok;
}
