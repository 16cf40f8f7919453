import { toModeldiffError, TOOL_VERSION, type FileError, type ModeldiffError } from '../compute';
import { commandHelp, type CommandSpec } from './args';
import { interruptOnSigint, type Interrupt } from './interrupt';
import { COMMANDS } from './commands';
import { EXIT, EXIT_CODES_HELP } from './exitCodes';
import { shown } from './terminal';

const NAME_WIDTH = Math.max(...COMMANDS.map((c) => c.spec.name.length));

const USAGE = `modeldiff ${TOOL_VERSION}: what really differs between diffusion model checkpoints

Usage: modeldiff <command> [arguments] [options]
       modeldiff <command> --help     the command's arguments, options and exit codes
       modeldiff --version | -V

Commands:
${COMMANDS.map((c) => `  ${c.spec.name.padEnd(NAME_WIDTH)}  ${c.spec.brief}`).join('\n')}

Every command takes -h/--help. Short aliases: -o --out, -q --quiet, -j --json, -w --workers, -c --components or
--component, -n --top or --count, -s --sort, -a --all-pairs, -b --by, -p --parents, -m --metric, -r --results.
"--" ends the options (for file names that start with "-").

${EXIT_CODES_HELP}`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const found = COMMANDS.find((c) => c.spec.name === command);
  const interrupt = found?.cancellable ? interruptOnSigint() : undefined;
  try {
    if (found) return await found.run(rest, interrupt?.signal ?? new AbortController().signal);
    switch (command) {
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(`${TOOL_VERSION}\n`);
        return EXIT.ok;
      case 'help': {
        const topic = COMMANDS.find((c) => c.spec.name === rest[0]);
        if (rest[0] !== undefined && !topic) return unknownCommand(rest[0]);
        process.stdout.write((topic ? commandHelp(topic.spec) : USAGE) + '\n');
        return EXIT.ok;
      }
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return EXIT.ok;
      case undefined:
        process.stderr.write(USAGE + '\n');
        return EXIT.usage;
      default:
        return unknownCommand(command);
    }
  } catch (e) {
    const err = toModeldiffError(e);
    process.stderr.write(errorText(err, found?.spec) + '\n');
    return exitCodeOf(err, interrupt);
  } finally {
    interrupt?.dispose();
  }
}

function unknownCommand(command: string): number {
  const known = COMMANDS.map((c) => c.spec.name).join(', ');
  process.stderr.write(`modeldiff: unknown command "${shown(command)}" (commands: ${known}; modeldiff --help says more)\n`);
  return EXIT.usage;
}

export function exitCodeOf(err: ModeldiffError, interrupt?: Interrupt): number {
  switch (err.code) {
    case 'USAGE':
      return EXIT.usage;
    case 'CANCELLED':
      return interrupt?.by === 'SIGTERM' ? EXIT.terminated : EXIT.cancelled;
    default:
      return EXIT.failure;
  }
}

/** Advice after a failed write, by the system's reason. */
const WRITE_ADVICE: Record<string, string> = {
  ENOSPC: 'free some space, or write somewhere else',
  EDQUOT: 'free some space within your quota, or write somewhere else',
  EROFS: 'write to a folder on a writable disk',
  EACCES: 'write to a folder you may write in, or change its permissions',
  EPERM: 'write to a folder you may write in, or change its permissions',
  ENOENT: 'a folder was removed while modeldiff wrote into it: run the command again',
  ENOTDIR: 'a part of the path is a file: pick another place',
};

/** The message of a failed command: which file, what went wrong, and for a failed write, what to do. */
export function errorText(err: ModeldiffError, spec?: CommandSpec): string {
  const command = spec?.name;
  const prog = command ? `modeldiff ${command}` : 'modeldiff';
  const lines = [`${prog}: ${err.file ? `${shown(err.file)}: ` : ''}${shown(err.message)}`];
  const errors = err.details?.errors;
  if (err.code === 'NOTHING_TO_COMPARE' && Array.isArray(errors)) for (const e of errors as FileError[]) lines.push(`  ${shown(e.path ?? e.file)}: ${shown(e.message)}`);
  const errno = typeof err.details?.errno === 'string' ? err.details.errno : undefined;
  const written = err.details?.output === true || /^cannot (write|create|rename|remove|replace|finish|copy)/.test(err.message);
  if (err.code === 'IO_ERROR' && written && errno && WRITE_ADVICE[errno]) lines.push(`  ${WRITE_ADVICE[errno]}.`);
  // the synopsis helps with the words of the command line, not with a path that is missing or cannot be written
  const aboutPath = err.details?.input !== undefined || err.details?.output !== undefined;
  if (err.code === 'USAGE' && spec && !aboutPath) lines.push(...spec.usage.map((u, i) => `${i ? '       ' : 'Usage: '}modeldiff ${spec.name} ${u}`), `Try \`modeldiff ${spec.name} --help\` for the options.`);
  return lines.join('\n');
}

// A reader that goes away (`modeldiff compare ... | head`) ends the output quietly, as with other tools.
function onStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw e;
}

if (require.main === module) {
  process.stdout.on('error', onStdoutError);
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`modeldiff: ${shown(e instanceof Error ? e.message : String(e))}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
