import { closeSync, copyFileSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/**
 * Writes a file so that a reader sees either the old content or the new, whole: into a temporary file beside it,
 * then renamed over it (a rename within a folder is atomic). The temporary file is removed if anything fails.
 * A path that exists and is not a regular file (/dev/stdout, /dev/null, a FIFO, a device) is written into directly:
 * renaming over it would replace the device or the pipe (as root, /dev/stdout itself) instead of writing to it.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFileAtomicWith(path, (fd) => writeFileSync(fd, data));
}

/** writeFileAtomic for content written in pieces (`write` gets the temporary file's descriptor). */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  const st = statSync(path, { throwIfNoEntry: false });
  const direct = !!st && !st.isFile();
  const tmp = direct ? path : `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      write(fd);
    } finally {
      closeSync(fd);
    }
    if (!direct) renameSync(tmp, path);
  } catch (e) {
    if (!direct) rmSync(tmp, { force: true });
    // a failed write(2) carries no path: name the file it was for
    if (e && typeof e === 'object' && !('path' in e)) Object.assign(e, { path });
    throw e;
  }
}

/** Copies a file so that `dest` is either its old content or the whole copy (a temporary file renamed over it). */
export function copyFileAtomic(src: string, dest: string): void {
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
