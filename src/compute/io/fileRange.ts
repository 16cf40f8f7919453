import type { FileHandle } from 'node:fs/promises';
import { ModeldiffError, type ErrorCode } from '../../shared/errors';

/** Reads exactly `length` bytes at `position`; a short read means the file is shorter than its structures say. */
export async function readRange(handle: FileHandle, position: number, length: number, path: string, code: ErrorCode, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new ModeldiffError(code, `the file ends inside ${what} (byte ${position + done}): it is truncated`, { file: path, details: { position: position + done } });
    }
    done += bytesRead;
  }
  return buf;
}
