/** `modeldiff compare`: every pair of models, written to a folder, with a summary on stdout. */
import { resolve } from 'node:path';
import { parseArgs, stringFlag } from '../args';
import { COMPARE_BOOLEANS, COMPARE_VALUED, compareWithProgress } from '../compareRun';
import { EXIT } from '../exitCodes';
import { summary } from '../summary';

export async function compareCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'json', 'quiet', 'all-pairs'], ['out', ...COMPARE_VALUED]);
  const out = stringFlag(p, 'out');
  if (!p.positional.length || !out) {
    process.stderr.write('usage: modeldiff compare <folder | files...> --out <dir>\n');
    return EXIT.usage;
  }
  const result = await compareWithProgress(p.positional, out, p, signal);
  if (p.flags.has('json')) process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  else if (!p.flags.has('quiet')) process.stdout.write(summary(result, { allPairs: p.flags.has('all-pairs') }) + `\n\nWritten to ${resolve(out)}\n`);
  if (result.models.length < 2) process.stderr.write(`modeldiff: need at least 2 readable models to compare, found ${result.models.length}\n`);
  return result.errors.length ? EXIT.fileErrors : EXIT.ok;
}
