/** Helpers shared by the commands. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { findModelIndex, ModeldiffError, modelLabel, readResult, writeFileAtomic, defaultHashCachePath, toModeldiffError, type CompareResult, type ResultSource } from '../../compute';
import type { Parsed } from '../args';
import { EXIT } from '../exitCodes';
import { stringFlag } from '../args';
import { checkOutputFile } from '../paths';
import { print, shown } from '../terminal';

export const OK = EXIT.ok;

/** The hash cache a command uses: --cache file, none with --no-cache, else the default cache file. */
export function hashCachePath(p: Parsed): string | null {
  if (p.flags.has('no-cache') && p.flags.has('cache')) throw new ModeldiffError('USAGE', '--cache and --no-cache contradict each other: give one');
  if (p.flags.has('no-cache')) return null;
  const file = stringFlag(p, 'cache');
  if (file !== undefined) checkOutputFile(file, '--cache');
  return resolve(file ?? defaultHashCachePath());
}

/** A compare output folder: it exists, and its result.json is checked (schema, version) when read. */
export function source(dir: string): ResultSource {
  const d = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(d).isDirectory();
  } catch {
    throw new ModeldiffError('USAGE', `${shown(dir)} does not exist: give the folder a \`modeldiff compare ... --out\` wrote`, { details: { input: dir } });
  }
  if (!isDir) throw new ModeldiffError('USAGE', `${shown(dir)} is a file: give the folder a \`modeldiff compare ... --out\` wrote`, { details: { input: dir } });
  return { dir: d, result: readResult(d) };
}

export function modelIndex(src: ResultSource, name: string): number {
  return findModelIndex(src.result, name);
}

/** The names of a result's models as the terminal shows them: disambiguated, control characters escaped. */
export function modelNames(result: CompareResult): string[] {
  return result.models.map((m) => shown(modelLabel(m)));
}

/** Checks, before any work, that an output file named by `option` (e.g. --csv) can be written ("-": stdout). */
export function checkOutput(p: Parsed, option: string): string | undefined {
  const path = stringFlag(p, option);
  if (path !== undefined && path !== '-') checkOutputFile(path, `--${option}`);
  return path;
}

/** Writes text to a file (atomically: the old file or the new one, whole; a device or a FIFO is written into), or to
 *  stdout for "-"; a failed write names the file, the reason and what to do. */
export function output(path: string, text: string): void {
  if (path === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileAtomic(path, text);
  } catch (e) {
    throw writeFailure(e, resolve(path));
  }
}

/** A write that failed, said as one (never "cannot read" or "file not found"). */
export function writeFailure(e: unknown, path: string): ModeldiffError {
  const err = toModeldiffError(e, path);
  const errno = typeof err.details?.errno === 'string' ? err.details.errno : undefined;
  const reason = errno ? (REASONS[errno] ?? `${err.message}`) : err.message;
  return new ModeldiffError('IO_ERROR', `cannot write the file: ${reason}${errno && REASONS[errno] ? ` (${errno})` : ''}`, { file: path, cause: e, details: { output: true, ...(errno ? { errno } : {}) } });
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'the folder it goes in does not exist (removed?)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder has that name',
};

export function json(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 1) + '\n');
}

/** Lines of text to stdout (names in them already `shown`; any control character left is escaped). */
export function printLines(lines: readonly string[] | string): void {
  print((typeof lines === 'string' ? lines : lines.join('\n')) + '\n');
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
