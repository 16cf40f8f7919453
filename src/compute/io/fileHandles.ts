import { closeSync, openSync } from 'node:fs';
import { toModeldiffError } from '../../shared/errors';

/** File descriptors opened once per task and closed when it ends, so a worker never holds files between runs. */
export class FileHandles {
  private fds = new Map<string, number>();

  get(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        throw toModeldiffError(e, path);
      }
      this.fds.set(path, fd);
    }
    return fd;
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
