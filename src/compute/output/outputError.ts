import { ModeldiffError } from '../../shared/errors';

/** A failure to write the output: which path, which operation, and the system's code (ENOSPC, EACCES...). */
export function outputError(e: unknown, path: string, operation: string): ModeldiffError {
  const sys = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  const code = typeof sys === 'string' ? sys : undefined;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOENT: 'a folder on the way was removed',
    ENOTDIR: 'a part of the path is a file, not a folder',
  };
  const reason = (code && why[code]) ?? (e instanceof Error ? e.message : String(e));
  return new ModeldiffError('IO_ERROR', `cannot ${operation}: ${reason}${code ? ` (${code})` : ''}`, {
    file: path,
    cause: e,
    details: { operation, output: true, ...(code ? { errno: code } : {}) },
  });
}
