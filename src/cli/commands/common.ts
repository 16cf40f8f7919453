/** Helpers shared by the analysis commands. */
import { resolve } from 'node:path';
import { writeFileAtomic, findModelIndex, ModeldiffError, readResult, defaultHashCachePath, type ResultSource } from '../../compute';
import type { Parsed } from '../args';
import { EXIT } from '../exitCodes';
import { stringFlag } from '../args';


/** The hash cache a command uses: --cache file, none with --no-cache, else the default cache file. */
export function hashCachePath(p: Parsed): string | null {
  return p.flags.has('no-cache') ? null : (stringFlag(p, 'cache') ?? defaultHashCachePath());
}

export function usage(line: string): number {
  process.stderr.write(`usage: ${line}\n`);
  return EXIT.usage;
}

export function source(dir: string): ResultSource {
  const d = resolve(dir);
  return { dir: d, result: readResult(d) };
}

export function modelIndex(src: ResultSource, name: string): number {
  return findModelIndex(src.result, name);
}

/** Writes text to a file (atomically: the old file or the new one, whole), or to stdout for "-". */
export function output(path: string, text: string): void {
  if (path === '-') process.stdout.write(text);
  else writeFileAtomic(path, text);
}

export function json(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 1) + '\n');
}

/** A bar of `width` cells for a fraction in [0, 1]. */
export function bar(fraction: number | null, width = 24): string {
  if (fraction === null || !Number.isFinite(fraction) || fraction <= 0) return '';
  const eighths = Math.round(Math.min(1, fraction) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return '█'.repeat(full) + (part ? '▏▎▍▌▋▊▉'[part - 1]! : '');
}

export function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

export function lpad(s: string, w: number): string {
  return s.length >= w ? s : ' '.repeat(w - s.length) + s;
}

export function choice<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = stringFlag(p, name);
  if (v === undefined) return fallback;
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw new ModeldiffError('USAGE', `--${name} is one of ${allowed.join(', ')}`);
  return hit;
}

/** `--csv` may stand alone (to stdout) or name a file: returns argv with a lone --csv turned into `--csv -`. */
export function loneFlagToDash(argv: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]!);
    if (argv[i] === flag && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) out.push('-');
  }
  return out;
}
