import { closeSync, constants, fstatSync, openSync, statSync, type BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ModeldiffError, toModeldiffError } from '../../shared/errors';

/**
 * Which version of a file was read: its (device, inode, size, mtime), taken from the descriptor its header was read
 * through, and checked again before anything read from it is kept. Strings keep 64-bit inode and nanosecond values
 * exact, and cross a worker boundary or JSON as they are.
 */
export interface FileIdentity {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
}

/** A file a model was read from, with the version that was read. */
export interface FileRecord {
  path: string;
  identity: FileIdentity;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs) };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

export function fileChanged(path: string, what = 'the file changed while it was read'): ModeldiffError {
  return new ModeldiffError('FILE_CHANGED', `${what}: it was not compared; run again once it is no longer being written`, { file: path });
}

/**
 * Opening a FIFO for reading waits for a writer, and a device (/dev/zero) never ends: only regular files are opened,
 * after a stat, with O_NONBLOCK so that a path swapped for a FIFO in between cannot block either, and checked again on
 * the open descriptor.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function notRegular(path: string, st: Parameters<typeof kindOf>[0]): ModeldiffError {
  return new ModeldiffError('NOT_A_MODEL', `is ${kindOf(st)}, not a regular file: only regular files are read`, { file: path });
}

/** Opens a regular file for reading; anything else (FIFO, device, socket, folder) is refused without blocking. */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; identity: FileIdentity }> {
  try {
    const before = await stat(path);
    if (!before.isFile()) throw notRegular(path, before);
    const handle = await open(path, OPEN_FLAGS);
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) throw notRegular(path, st);
      return { handle, identity: identityOf(st) };
    } catch (e) {
      await handle.close();
      throw e;
    }
  } catch (e) {
    throw toModeldiffError(e, path);
  }
}

/** openRegularFile for synchronous callers (the engine's threads). */
export function openRegularFileSync(path: string): { fd: number; identity: FileIdentity } {
  try {
    const before = statSync(path);
    if (!before.isFile()) throw notRegular(path, before);
    const fd = openSync(path, OPEN_FLAGS);
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) throw notRegular(path, st);
      return { fd, identity: identityOf(st) };
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  } catch (e) {
    throw toModeldiffError(e, path);
  }
}

/** The identity of the file now at `path`, or null when it is gone or unreadable. */
export async function currentIdentity(path: string): Promise<FileIdentity | null> {
  try {
    return identityOf(await stat(path, { bigint: true }));
  } catch {
    return null;
  }
}

/** The first of `files` that is no longer the version read (rewritten, replaced, deleted), as FILE_CHANGED; else null. */
export async function changedSinceRead(files: readonly FileRecord[]): Promise<ModeldiffError | null> {
  for (const f of files) {
    const now = await currentIdentity(f.path);
    if (now && sameIdentity(now, f.identity)) continue;
    return fileChanged(f.path, now ? 'the file changed while it was read' : 'the file was deleted or moved while it was read');
  }
  return null;
}

/** path -> the version read, for FileHandles to check every file against when it opens and verifies them. */
export function identitiesOf(files: readonly FileRecord[]): Record<string, FileIdentity> {
  const out: Record<string, FileIdentity> = {};
  for (const f of files) out[f.path] = f.identity;
  return out;
}

/** Reads the whole of a small regular file, at most `limit` bytes and never more than its size when it was opened. */
export async function readSmallFile(path: string, limit: number, tooLarge: (size: number) => ModeldiffError): Promise<{ bytes: Uint8Array; record: FileRecord }> {
  const { handle, identity } = await openRegularFile(path);
  try {
    if (identity.size > limit) throw tooLarge(identity.size);
    const bytes = new Uint8Array(identity.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) throw fileChanged(path, 'the file got shorter while it was read');
      done += bytesRead;
    }
    return { bytes, record: { path, identity } };
  } finally {
    await handle.close();
  }
}
