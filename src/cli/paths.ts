/**
 * The paths a command is given, checked before any work: inputs must exist, and an output folder or file must be
 * one this process can create and write. The output check really creates (and removes) a probe folder in the nearest
 * folder that exists, so a file system that refuses folders (/proc, /sys: where Node's recursive mkdir spins
 * forever), a read-only mount or a missing permission is found at once, with nothing left behind.
 */
import { lstatSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ModeldiffError } from '../compute';
import { shown } from './terminal';

/** Every input path exists (a broken symlink does not); otherwise a usage error that names it. */
export function checkInputs(inputs: readonly string[]): void {
  for (const input of inputs) {
    try {
      statSync(input);
    } catch (e) {
      const code = (e as { code?: string }).code;
      const link = isSymlink(input) ? 'is a symbolic link to nothing' : 'does not exist';
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModeldiffError('USAGE', `${shown(input)} ${link}`, { details: { input } });
      if (code === 'EACCES') throw new ModeldiffError('USAGE', `${shown(input)}: permission denied (a folder on its path cannot be searched)`, { details: { input } });
      throw new ModeldiffError('USAGE', `${shown(input)}: cannot be read (${code ?? String(e)})`, { details: { input } });
    }
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * `dir` can be the output folder: it is a folder or does not exist yet, and its parent (the nearest folder that
 * exists on the way) lets this process create folders in it (the compare output is written beside it, then
 * swapped in). `option` names the flag in the message ("--out").
 */
export function checkOutputFolder(dir: string, option: string): void {
  const out = resolve(dir);
  const st = statOrNull(out);
  if (st && !st.isDirectory()) throw new ModeldiffError('USAGE', `${option} ${shown(out)} is a file, not a folder: pick a folder`, { details: { output: out } });
  probeWritable(dirname(out), out, option);
  if (st) probeWritable(out, out, option);
}

/** `file` can be written: it is not a folder, and its folder (or the nearest one on the way) accepts new entries. */
export function checkOutputFile(file: string, option: string): void {
  const path = resolve(file);
  const st = statOrNull(path);
  if (st?.isDirectory()) throw new ModeldiffError('USAGE', `${option} ${shown(path)} is a folder: give a file name`, { details: { output: path } });
  // a device or a pipe (/dev/stdout, a FIFO) is written into, not replaced: nothing to create beside it
  if (st && !st.isFile()) return;
  probeWritable(dirname(path), path, option);
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Creates and removes a probe folder in the nearest existing folder at or above `dir`. */
function probeWritable(dir: string, target: string, option: string): void {
  let base = dir;
  for (;;) {
    const st = statOrNull(base);
    if (st) {
      if (!st.isDirectory()) throw new ModeldiffError('USAGE', `${option} ${shown(target)}: ${shown(base)} is a file, not a folder`, { details: { output: target } });
      break;
    }
    const up = dirname(base);
    if (up === base) break;
    base = up;
  }
  let probe: string;
  try {
    probe = mkdtempSync(join(base, '.modeldiff-probe-'));
  } catch (e) {
    throw new ModeldiffError('USAGE', `${option} ${shown(target)} cannot be written: ${refusal(e, base)}; pick another ${option === '--csv' || option.endsWith('file') ? 'file' : 'folder'}`, {
      details: { output: target, errno: (e as { code?: string }).code },
    });
  }
  try {
    rmdirSync(probe);
  } catch {
    // a probe we cannot remove is harmless, and the write itself will say what is wrong
  }
}

function refusal(e: unknown, base: string): string {
  const code = (e as { code?: string }).code;
  const where = shown(base);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `no permission to create files in ${where} (${code})`;
    case 'EROFS':
      return `${where} is on a read-only file system (EROFS)`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left in ${where} (${code})`;
    case 'ENOENT':
      return `${where} does not accept new files or folders (a virtual file system such as /proc or /sys) (ENOENT)`;
    default:
      return `cannot create anything in ${where} (${code ?? String(e)})`;
  }
}
