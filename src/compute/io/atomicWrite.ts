import { closeSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file so that a reader sees either the old content or the new, whole: into a temporary file beside it,
 * then renamed over it (a rename within a folder is atomic). The temporary file is removed if anything fails.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFileAtomicWith(path, (fd) => writeFileSync(fd, data));
}

/** writeFileAtomic for content written in pieces (`write` gets the temporary file's descriptor). */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      write(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
