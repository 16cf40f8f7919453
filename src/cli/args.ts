/**
 * The command line of every command: node:util parseArgs in strict mode, from one description per command that also
 * writes its --help. Values are checked against what they may be (numbers with their range, choices, component
 * names) before any work starts; a bad one is a usage error (exit 2) that says what would be accepted.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { ModeldiffError } from '../compute';
import { EXIT_CODES_HELP } from './exitCodes';

export interface OptionSpec {
  type: 'boolean' | 'string';
  /** one-letter alias: `-o` for --out */
  short?: string;
  /** the value's name in the help ("dir", "N"); string options only */
  arg?: string;
  help: string;
  /** the value may be left out (`--csv` alone means `--csv -`, standard output) */
  optionalValue?: boolean;
}

export interface CommandSpec {
  name: string;
  /** what follows `modeldiff <name>` in the usage lines */
  usage: string[];
  /** a few words for the list of commands in `modeldiff --help` */
  brief: string;
  /** what the command does, at the top of its --help */
  summary: string;
  /** paragraphs after the usage lines */
  description?: string;
  /** how many positional arguments the command takes */
  positionals: { min: number; max: number };
  options: Record<string, OptionSpec>;
  /** what the command adds to the exit codes (e.g. when it returns 1) */
  exitNotes?: string;
}

export interface Parsed {
  positional: string[];
  /** given options by long name: true for a boolean, the value for a string option */
  flags: Map<string, string | true>;
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help and exit' };

/** Parses `argv` (the words after the command name); null when --help was asked for (the help is then printed). */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed | null {
  const options = { ...spec.options, help: HELP_OPTION };
  const end = argv.indexOf('--');
  const optionWords = end < 0 ? argv : argv.slice(0, end);
  if (optionWords.includes('--help') || optionWords.includes('-h')) {
    process.stdout.write(commandHelp(spec) + '\n');
    return null;
  }
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: loneOptionalValues(options, argv),
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new ModeldiffError('USAGE', parseErrorText(e, options));
  }
  const positional = parsed.positionals;
  if (positional.length < spec.positionals.min) throw new ModeldiffError('USAGE', `missing argument: modeldiff ${spec.name} ${spec.usage[0]}`);
  if (positional.length > spec.positionals.max) throw new ModeldiffError('USAGE', `unexpected argument "${positional[spec.positionals.max]}" (modeldiff ${spec.name} ${spec.usage[0]})`);
  const flags = new Map<string, string | true>();
  for (const [name, v] of Object.entries(parsed.values)) {
    if (v === undefined || v === false || name === 'help') continue;
    if (v === '') throw new ModeldiffError('USAGE', `--${name} needs a value, not an empty string`);
    flags.set(name, v as string | true);
  }
  return { positional, flags };
}

/** A lone `--csv` (last, or followed by another option) becomes `--csv=-`: parseArgs has no optional values. */
function loneOptionalValues(options: Record<string, OptionSpec>, argv: readonly string[]): string[] {
  const out: string[] = [];
  let ended = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') ended = true;
    const name = !ended && a.startsWith('--') ? a.slice(2) : !ended && /^-[A-Za-z]$/.test(a) ? Object.keys(options).find((k) => options[k]!.short === a[1]) : undefined;
    const next = argv[i + 1];
    if (name && options[name]?.optionalValue && (next === undefined || (next.startsWith('-') && next !== '-'))) out.push(`--${name}=-`);
    else out.push(a);
  }
  return out;
}

/** parseArgs' errors, said in the terms of this command (and with a guess when an option name is close). */
function parseErrorText(e: unknown, options: Record<string, OptionSpec>): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const quoted = /'(-[^']*)'/.exec(message)?.[1] ?? '';
  const long = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = closest(quoted.replace(/^-+/, '').replace(/=.*$/, ''), Object.keys(options));
    return `unknown option ${quoted}${guess ? ` (did you mean --${guess}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/ambiguous/.test(message)) return `${long} needs a value, and the next word is an option; to give a value that starts with "-", write ${long}=<value>`;
    if (/missing/.test(message)) return `${long} needs a value`;
    if (/does not take/.test(message)) return `${long} takes no value`;
  }
  return message.split('\n')[0]!;
}

/** An option name one edit away (or a plural/singular) from what was typed. */
function closest(typed: string, names: readonly string[]): string | undefined {
  if (!typed) return undefined;
  const prefixed = names.filter((n) => n.startsWith(typed));
  return names.find((n) => n === typed + 's' || n + 's' === typed) ?? (prefixed.length === 1 ? prefixed[0] : names.find((n) => editDistance(n, typed) <= 2 && typed.length > 2));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length]!;
}

/** The --help of one command: usage, description, options (with their aliases) and exit codes. */
export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP_OPTION };
  const left = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? (o.optionalValue ? ` [${o.arg ?? 'value'}]` : ` <${o.arg ?? 'value'}>`) : '';
    return `${o.short ? `-${o.short}, ` : '    '}--${name}${value}`;
  });
  const w = Math.min(34, Math.max(...left.map((l) => l.length)));
  const rows = Object.values(options).map((o, i) => {
    const l = left[i]!;
    const help = o.help.split('\n');
    const first = l.length > w ? [`  ${l}`, `  ${' '.repeat(w)}  ${help[0]}`] : [`  ${l.padEnd(w)}  ${help[0]}`];
    return [...first, ...help.slice(1).map((h) => `  ${' '.repeat(w)}  ${h}`)].join('\n');
  });
  const usage = spec.usage.map((u, i) => `${i ? '       ' : 'Usage: '}modeldiff ${spec.name} ${u}`);
  return [
    ...usage,
    '',
    spec.summary,
    ...(spec.description ? ['', spec.description] : []),
    '',
    'Options:',
    ...rows,
    '',
    EXIT_CODES_HELP,
    ...(spec.exitNotes ? [spec.exitNotes] : []),
  ].join('\n');
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return v === true ? undefined : v;
}

/** A whole number option within [min, max]; undefined when not given. */
export function intFlag(p: Parsed, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = stringFlag(p, name);
  if (v === undefined) return undefined;
  const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new ModeldiffError('USAGE', `--${name} is a whole number ${range}, not "${v}"`);
  }
  return n;
}

/** One of `allowed` (any case); `fallback` when not given. */
export function choiceFlag<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = stringFlag(p, name);
  if (v === undefined) return fallback;
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw new ModeldiffError('USAGE', `--${name} is one of ${allowed.join(', ')}, not "${v}"`);
  return hit;
}

/** A comma-separated list (no empty items); each item one of `allowed` when given. */
export function listFlag(p: Parsed, name: string, allowed?: readonly string[], what = 'value'): string[] | undefined {
  const v = stringFlag(p, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  if (!items.length || items.some((s) => !s)) throw new ModeldiffError('USAGE', `--${name} is a comma-separated list without empty items, not "${v}"`);
  if (allowed) {
    const bad = items.filter((s) => !allowed.includes(s));
    if (bad.length) throw new ModeldiffError('USAGE', `--${name}: no ${what} ${bad.map((b) => `"${b}"`).join(', ')}; ${what}s are ${allowed.join(', ')}`);
  }
  return [...new Set(items)];
}
