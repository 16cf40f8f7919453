/** `modeldiff compare`: every pair of models, written to a folder, with a summary on stdout. */
import { resolve } from 'node:path';
import { ModeldiffError } from '../../compute';
import { parseCommand, stringFlag, type CommandSpec } from '../args';
import { compareSettings, compareWithProgress } from '../compareRun';
import { EXIT } from '../exitCodes';
import { COMPARE_OPTIONS, JSON_OPTION, QUIET_OPTION } from '../options';
import { summary } from '../summary';
import { shown } from '../terminal';
import { printLines } from './common';
import { RESUME_SHARD_OPTIONS, shardCommand, shardFlag } from './shard';

export const compareSpec: CommandSpec = {
  name: 'compare',
  brief: 'compare every pair of models into a folder (result.json, model_map_v2.json, layers.bin)',
  usage: ['<folder | files...> --out <dir> [options]'],
  summary: 'Compares every pair of models; writes result.json, model_map_v2.json and layers.bin to <dir> and prints a summary.',
  description:
    'A folder stands for the model files and diffusers folders directly inside it. <dir> is replaced as a whole when the\n' +
    'run succeeds (it must be new, empty, or an earlier compare output); a run that fails or is cancelled leaves it as it was.\n' +
    'A run stopped by Ctrl-C, SIGTERM, SIGKILL or a power cut keeps its last checkpoint in <dir>.partial/: the same\n' +
    'command carries on from it (the same result, byte for byte), unless the files or options changed.\n' +
    'Compared again into the same <dir>, a folder reuses the earlier result: models added, removed or changed (by path,\n' +
    'size, modification time and header) are found, only the pairs with a new or changed model are computed, and the\n' +
    'result is the one a fresh run writes; with only models removed nothing is read. --fresh computes every pair.',
  positionals: { min: 1, max: Infinity },
  options: {
    out: { type: 'string', short: 'o', arg: 'dir', help: 'the output folder (required)' },
    ...COMPARE_OPTIONS,
    json: { ...JSON_OPTION, help: 'print result.json to standard output instead of the summary' },
    'all-pairs': { type: 'boolean', short: 'a', help: 'the summary lists every pair (past 45 pairs it shows the bit-identical\ngroups and the 30 closest pairs)' },
    quiet: { ...QUIET_OPTION, help: 'no summary' },
    ...RESUME_SHARD_OPTIONS,
  },
};

export async function compareCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(compareSpec, argv);
  if (!p) return EXIT.ok;
  const out = stringFlag(p, 'out');
  if (!out) throw new ModeldiffError('USAGE', '--out <dir> is required: the folder result.json, model_map_v2.json and layers.bin go to');
  const settings = compareSettings(p);
  const shard = shardFlag(p);
  if (shard) return shardCommand(p, out, shard, settings, signal);
  const result = await compareWithProgress(p.positional, out, settings, '--out', signal);
  if (p.flags.has('json')) process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  else if (!p.flags.has('quiet')) printLines(summary(result, { allPairs: p.flags.has('all-pairs') }) + `\n\nWritten to ${shown(resolve(out))}`);
  return result.errors.length ? EXIT.fileErrors : EXIT.ok;
}
