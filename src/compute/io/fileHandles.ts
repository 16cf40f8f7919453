import { closeSync, fstatSync } from 'node:fs';
import { ModeldiffError } from '../../shared/errors';
import { fileChanged, identityOf, openRegularFileSync, sameIdentity, type FileIdentity } from './regularFile';

/**
 * File descriptors opened once per task and closed when it ends, so a worker never holds files between runs. With
 * the identities the headers were read from, a file is checked when it is opened and again when the task's reads are
 * done (`verify`): a file rewritten, truncated, replaced or deleted during the run fails its task as FILE_CHANGED.
 */
export class FileHandles {
  private fds = new Map<string, number>();

  constructor(private readonly expected: Readonly<Record<string, FileIdentity>> = {}) {}

  get(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      const want = this.expected[path];
      let opened;
      try {
        opened = openRegularFileSync(path);
      } catch (e) {
        if (want && e instanceof ModeldiffError && e.code === 'IO_ERROR' && (e.cause as { code?: string } | undefined)?.code === 'ENOENT') {
          throw fileChanged(path, 'the file was deleted or moved while it was read');
        }
        throw e;
      }
      fd = opened.fd;
      this.fds.set(path, fd);
      if (want && !sameIdentity(opened.identity, want)) throw fileChanged(path);
    }
    return fd;
  }

  /** Every file read by this task is still the version its header was read from. */
  verify(): void {
    for (const [path, fd] of this.fds) {
      const want = this.expected[path];
      if (want && !sameIdentity(identityOf(fstatSync(fd, { bigint: true })), want)) throw fileChanged(path);
    }
  }

  /** Closes one file (a caller that has dealt with its change verifies the others). */
  forget(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    closeSync(fd);
    this.fds.delete(path);
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
