/** `modeldiff compare --shard i/n` (one share of the work, as partial sums), `modeldiff merge` (the shares added up),
 *  and compare's --fresh. */
import { resolve } from 'node:path';
import { computeShard, mergeShards, ModeldiffError, type ShardSpec } from '../../compute';
import { parseCommand, stringFlag, type CommandSpec, type OptionSpec, type Parsed } from '../args';
import { engineOptions, type CompareSettings } from '../compareRun';
import { EXIT } from '../exitCodes';
import { JSON_OPTION, QUIET_OPTION } from '../options';
import { checkInputs, checkOutputFolder } from '../paths';
import { progressBar } from '../progressBar';
import { summary } from '../summary';
import { shown } from '../terminal';
import { printLines } from './common';

/** compare's options for resume and shards. */
export const RESUME_SHARD_OPTIONS: Record<string, OptionSpec> = {
  fresh: { type: 'boolean', help: 'compute every pair: reuse neither the earlier result in <dir> nor the checkpoint\nan interrupted run left in <dir>.partial/' },
  shard: {
    type: 'string',
    arg: 'i/n',
    help: 'compute only share i (0 <= i < n) of the work and write its partial sums to <dir>;\nadd the n shard folders up with `modeldiff merge` (no --hashes, no --json)',
  },
};

/** `--shard i/n`: 0 <= i < n (Slurm's SLURM_ARRAY_TASK_ID with --array=0-(n-1), Kubernetes' JOB_COMPLETION_INDEX). */
export function shardFlag(p: Parsed): ShardSpec | undefined {
  const v = stringFlag(p, 'shard');
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new ModeldiffError('USAGE', `--shard is i/n with 0 <= i < n, like 0/4 (got "${v}")`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

export async function shardCommand(p: Parsed, out: string, shard: ShardSpec, settings: CompareSettings, signal: AbortSignal): Promise<number> {
  if (p.flags.has('hashes') || p.flags.has('json')) throw new ModeldiffError('USAGE', '--shard takes no --hashes or --json: a shard writes partial sums, `modeldiff merge` the result');
  checkInputs(p.positional);
  checkOutputFolder(out, '--out');
  const bar = progressBar();
  let s;
  try {
    s = await computeShard(
      p.positional.map((f) => resolve(f)),
      { ...engineOptions(settings), hashes: null, outDir: resolve(out), signal, onProgress: bar.update, shard },
    );
  } finally {
    bar.done();
  }
  for (const e of s.errors) process.stderr.write(`modeldiff compare: ${shown(e.path)}: ${shown(e.message)}\n`);
  if (!p.flags.has('quiet')) {
    printLines([
      `shard ${shard.index}/${shard.count}: ${s.leaves} of ${s.of} parts of the work (${s.models} models, ${s.bytesRead} bytes read), written to ${shown(resolve(out))}`,
      `when every shard is done: modeldiff merge <the ${shard.count} shard folders> --out <dir>`,
    ]);
  }
  return s.errors.length ? EXIT.fileErrors : EXIT.ok;
}

export const mergeSpec: CommandSpec = {
  name: 'merge',
  brief: 'add the partial sums of `compare --shard` runs into the whole result',
  usage: ['<shard dirs...> --out <dir> [options]'],
  summary: 'Adds the output folders of `compare --shard i/n` runs (every i of one n) into the whole result in <dir>.',
  description:
    'The result is the one a single compare run writes, byte for byte (bar createdAt and seconds). The model files must\n' +
    'still be where the shards read them, unchanged (their headers are read again, not their data).',
  positionals: { min: 1, max: Infinity },
  options: {
    out: { type: 'string', short: 'o', arg: 'dir', help: 'the output folder (required)' },
    json: { ...JSON_OPTION, help: 'print result.json to standard output instead of the summary' },
    'all-pairs': { type: 'boolean', short: 'a', help: 'the summary lists every pair' },
    quiet: { ...QUIET_OPTION, help: 'no summary' },
  },
};

export async function mergeCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(mergeSpec, argv);
  if (!p) return EXIT.ok;
  const out = stringFlag(p, 'out');
  if (!out) throw new ModeldiffError('USAGE', '--out <dir> is required: the folder the merged result goes to');
  checkInputs(p.positional);
  checkOutputFolder(out, '--out');
  const bar = progressBar();
  let result;
  try {
    result = await mergeShards(p.positional, { outDir: resolve(out), signal, onProgress: bar.update, onNotice: (m) => process.stderr.write(`modeldiff: ${shown(m)}\n`) });
  } finally {
    bar.done();
  }
  if (p.flags.has('json')) process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  else if (!p.flags.has('quiet')) printLines(summary(result, { allPairs: p.flags.has('all-pairs') }) + `\n\nWritten to ${shown(resolve(out))}`);
  return result.errors.length ? EXIT.fileErrors : EXIT.ok;
}
