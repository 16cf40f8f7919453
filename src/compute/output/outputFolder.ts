import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ModeldiffError } from '../../shared/errors';
import { RESULT_FILE } from './resultFiles';
import { outputError } from './outputError';
import { SUMS_FILE } from '../engine/checkpoint';

/**
 * A compare output folder is replaced as a whole, never written in place. A run writes into a staging folder beside
 * it, `<out>.partial/`; once every file there is complete and synced, the old folder is renamed to `<out>.previous`,
 * the staging folder to `<out>`, and the previous one removed. A run that fails or is cancelled removes its staging
 * folder (no debris, even after ENOSPC); a run that is killed leaves it, and the next run into the same folder
 * removes it first (or, killed between the two renames, puts `<out>.previous` back). A reader of `<out>` thus finds
 * the old result or the new one, whole, never a new layers.bin beside an old result.json.
 *
 * Resume (issue 12): the staging folder is the run's own and holds its checkpoint (engine/checkpoint.ts, SUMS_FILE)
 * beside the layers.bin it is writing. It is marked by STAGING_MARKER, which holds the pid of the run writing it. A
 * run stopped by Ctrl-C or SIGTERM after a checkpoint keeps the folder (`keep`); one killed leaves it. The next run
 * into the same output, unless asked not to (`resume: false`), takes such a folder over (`resumed`) and the pipeline
 * carries on from the checkpoint if it is about the same files and options, else starts again in it.
 */
export const STAGING_SUFFIX = '.partial';
export const PREVIOUS_SUFFIX = '.previous';
export const STAGING_MARKER = '.modeldiff-run';

export class OutputStaging {
  private done = false;

  private constructor(
    /** the output folder the user asked for (symlinks resolved) */
    readonly out: string,
    /** where this run writes: `<out>.partial` */
    readonly dir: string,
    /** the folder is one an interrupted run left with a checkpoint in it */
    readonly resumed: boolean,
  ) {}

  /** Checks that `outDir` may be replaced, clears what an interrupted run left (or, with `resume`, takes over its
   *  checkpoint), and makes the staging folder. */
  static begin(outDir: string, opts: { resume?: boolean } = {}): OutputStaging {
    const out = resolveOut(outDir);
    const dir = out + STAGING_SUFFIX;
    recoverInterruptedSwap(out);
    checkReplaceable(out);
    const resumed = removeStaleStaging(dir, !!opts.resume);
    attempt(out, 'create the output folder', () => {
      mkdirSync(dirname(out), { recursive: true });
      if (!resumed) mkdirSync(dir);
      writeFileSync(join(dir, STAGING_MARKER), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }) + '\n');
    });
    return new OutputStaging(out, dir, resumed);
  }

  /** Stops without committing but keeps the staging folder and its checkpoint for the next run (Ctrl-C, SIGTERM). */
  keep(): void {
    this.done = true;
  }

  /** Swaps the staging folder in for the output folder; the old one is removed. */
  commit(): void {
    if (this.done) throw new ModeldiffError('ENGINE_INTERNAL', 'the output folder was already committed or discarded');
    const previous = this.out + PREVIOUS_SUFFIX;
    attempt(this.dir, 'finish the output folder', () => {
      rmSync(join(this.dir, STAGING_MARKER), { force: true });
      syncFolder(this.dir);
    });
    attempt(this.out, 'replace the output folder', () => {
      if (existsSync(this.out)) {
        rmSync(previous, { recursive: true, force: true });
        renameSync(this.out, previous);
        renameSync(this.dir, this.out);
        rmSync(previous, { recursive: true, force: true });
      } else {
        renameSync(this.dir, this.out);
      }
      fsyncPath(dirname(this.out));
    });
    this.done = true;
  }

  /** Removes the staging folder (the run failed or was cancelled); the output folder is left exactly as it was. */
  discard(): void {
    if (this.done) return;
    this.done = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function resolveOut(outDir: string): string {
  const out = resolve(outDir);
  try {
    // a symlinked output folder: replace the folder it points to, keep the link
    if (lstatSync(out).isSymbolicLink()) return realpathSync(out);
  } catch {
    // does not exist yet
  }
  return out;
}

/** Killed between the two renames of `commit`: the old result is in `<out>.previous`; a finished swap left it behind. */
function recoverInterruptedSwap(out: string): void {
  const previous = out + PREVIOUS_SUFFIX;
  if (!isModeldiffOutput(previous)) return;
  attempt(previous, 'restore the previous output folder', () => {
    if (!existsSync(out)) renameSync(previous, out);
    else rmSync(previous, { recursive: true, force: true });
  });
}

/** An empty folder, or an earlier compare output: never a folder of other files (the models themselves, say). */
function checkReplaceable(out: string): void {
  let st;
  try {
    st = statSync(out);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw new ModeldiffError('USAGE', 'the output path exists and is not a folder: pick a folder for --out', { file: out });
  let names: string[] = [];
  attempt(out, 'read the output folder', () => (names = readdirSync(out)));
  if (names.length > 0 && !names.includes(RESULT_FILE) && !names.includes(SUMS_FILE)) {
    throw new ModeldiffError(
      'USAGE',
      `the output folder holds other files and no ${RESULT_FILE}: a compare output replaces its whole folder, so pick a new or empty folder (or one an earlier compare wrote)`,
      { file: out },
    );
  }
}

function isModeldiffOutput(dir: string): boolean {
  try {
    const names = readdirSync(dir);
    return names.length === 0 || names.includes(RESULT_FILE) || names.includes(SUMS_FILE);
  } catch {
    return false;
  }
}

/**
 * A staging folder left by a killed run is removed, or with `resume` kept when it holds a checkpoint (returns true);
 * one a live run is writing, or one we did not make, is not touched.
 */
function removeStaleStaging(dir: string, resume: boolean): boolean {
  if (!existsSync(dir)) return false;
  let marker: { pid?: unknown } | undefined;
  try {
    marker = JSON.parse(readFileSync(join(dir, STAGING_MARKER), 'utf8')) as { pid?: unknown };
  } catch {
    marker = undefined;
  }
  if (!marker) {
    let empty = false;
    try {
      empty = readdirSync(dir).length === 0;
    } catch {
      // unreadable: not ours to remove
    }
    if (!empty) throw new ModeldiffError('USAGE', `${basename(dir)} exists beside the output folder and was not made by modeldiff: move it away first`, { file: dir });
    attempt(dir, 'remove an empty staging folder', () => rmdirSync(dir));
    return false;
  }
  if (typeof marker.pid === 'number' && marker.pid !== process.pid && isAlive(marker.pid)) {
    throw new ModeldiffError(
      'USAGE',
      `another modeldiff run (pid ${marker.pid}) is writing this output folder: wait for it to finish, or if no such run is going on, remove ${basename(dir)}`,
      { file: dir },
    );
  }
  if (resume && existsSync(join(dir, SUMS_FILE))) {
    // a temporary file the killed run was writing (a checkpoint, result.json) is not part of what it left
    attempt(dir, 'clear what an interrupted run was writing', () => {
      for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
    });
    return true;
  }
  attempt(dir, 'remove what an interrupted run left', () => rmSync(dir, { recursive: true, force: true }));
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Every file written, on disk before the rename makes it visible. */
function syncFolder(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Output-side failures name the path and the operation (a write failure is never "cannot read the file"). */
function attempt(path: string, operation: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModeldiffError) throw e;
    throw outputError(e, path, operation);
  }
}
