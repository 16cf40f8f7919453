/** Every failure the engine reports is a ModeldiffError with a stable code; messages are for people. */
export const ERROR_CODES = [
  // safetensors
  'ST_HEADER_TOO_SMALL',
  'ST_HEADER_TOO_LARGE',
  'ST_INVALID_HEADER_LENGTH',
  'ST_INVALID_UTF8',
  'ST_INVALID_JSON',
  'ST_DUPLICATE_KEY',
  'ST_INVALID_ENTRY',
  'ST_UNKNOWN_DTYPE',
  'ST_INVALID_OFFSET',
  'ST_OVERFLOW',
  'ST_MISALIGNED_SLICE',
  'ST_TENSOR_INVALID_INFO',
  'ST_INCOMPLETE_BUFFER',
  // pytorch / zip / pickle / diffusers
  'ZIP_INVALID',
  'ZIP_UNSUPPORTED',
  'PT_INVALID',
  'PT_UNSAFE_GLOBAL',
  'PT_UNSUPPORTED',
  'PT_LIMIT',
  'DIFFUSERS_INVALID',
  // gguf
  'GGUF_BAD_MAGIC',
  'GGUF_UNSUPPORTED_VERSION',
  'GGUF_INVALID',
  'GGUF_OVERFLOW',
  'GGUF_INVALID_OFFSET',
  'GGUF_UNSUPPORTED_TYPE',
  // quantised safetensors (scaled fp8, bitsandbytes, ComfyUI quant metadata)
  'QUANT_INVALID',
  'QUANT_UNSUPPORTED',
  // LoRA / LyCORIS
  'LORA_INVALID',
  'LORA_UNSUPPORTED',
  // generic
  'FORMAT_UNKNOWN',
  'IO_ERROR',
  /** the file changed (size, mtime, or another file at its path) between its header read and the end of its reads */
  'FILE_CHANGED',
  /** beyond a documented limit (tensor count, name length, claimed bytes...): refused before it costs the run */
  'MODEL_LIMIT',
  'NOT_A_MODEL',
  /** fewer than two readable models: nothing was compared, the output folder is left as it was */
  'NOTHING_TO_COMPARE',
  /** a result.json that is not JSON, not modeldiff's, of another schema version, or not valid against the schema */
  'RESULT_INVALID',
  'ENGINE_INTERNAL',
  'WASM_UNAVAILABLE',
  'USAGE',
  'CANCELLED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ModeldiffError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** The file this error is about, when there is one. */
  file: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { details?: Record<string, unknown>; file?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ModeldiffError';
    this.code = code;
    this.details = opts.details;
    this.file = opts.file;
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, file: this.file, details: this.details };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  file?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

/** Turns anything thrown into a ModeldiffError (errors cross worker boundaries as plain objects). */
export function toModeldiffError(e: unknown, file?: string): ModeldiffError {
  if (e instanceof ModeldiffError) {
    if (file && !e.file) e.file = file;
    return e;
  }
  if (e && typeof e === 'object' && 'code' in e && 'message' in e && typeof (e as SerializedError).code === 'string') {
    const s = e as SerializedError & { code: string };
    if ((ERROR_CODES as readonly string[]).includes(s.code)) {
      return new ModeldiffError(s.code as ErrorCode, s.message, { details: s.details, file: s.file ?? file });
    }
    // Node system errors (ENOENT, EACCES, EISDIR...): the operation and the path they carry say what failed
    const sys = e as { syscall?: unknown; path?: unknown };
    const path = file ?? (typeof sys.path === 'string' ? sys.path : undefined);
    return new ModeldiffError('IO_ERROR', describeSystemError(s.code, s.message, typeof sys.syscall === 'string' ? sys.syscall : undefined), {
      file: path,
      cause: e,
      details: { errno: s.code, ...(typeof sys.syscall === 'string' ? { syscall: sys.syscall } : {}) },
    });
  }
  if (e instanceof Error) return new ModeldiffError('ENGINE_INTERNAL', e.message, { file, cause: e });
  return new ModeldiffError('ENGINE_INTERNAL', String(e), { file });
}

/** Errors only a write can meet: whatever the system call, it was the output that failed. */
const WRITE_ERRNOS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EFBIG: 'the file is too large for the file system',
};
/** System calls that change the disk (an `open` may read or write, so it is not here). */
const WRITE_CALLS: Record<string, string> = {
  write: 'write',
  writev: 'write',
  mkdir: 'create the folder',
  mkdtemp: 'create a folder',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove the folder',
  rm: 'remove',
  copyfile: 'copy to',
  fsync: 'write',
  fdatasync: 'write',
  ftruncate: 'write',
};

function describeSystemError(code: string, message: string, syscall?: string): string {
  const written = syscall ? WRITE_CALLS[syscall] : undefined;
  if (WRITE_ERRNOS[code]) return `cannot ${written ?? 'write'}: ${WRITE_ERRNOS[code]} (${code})`;
  if (written) {
    const why = code === 'ENOENT' ? 'the folder it is in does not exist (removed?)' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : message;
    return `cannot ${written}: ${why} (${code})`;
  }
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return syscall === 'open' ? `permission denied (${code})` : 'permission denied: the file cannot be read';
    case 'EISDIR':
      return syscall === 'read' ? 'is a directory, not a model file' : `is a folder, not a file (${code})`;
    default:
      return `cannot ${syscall === 'open' ? 'open' : 'read'} the file (${code}): ${message}`;
  }
}

export function cancelled(): ModeldiffError {
  return new ModeldiffError('CANCELLED', 'the comparison was cancelled');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled();
}
