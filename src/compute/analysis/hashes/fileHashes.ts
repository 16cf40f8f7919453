/**
 * File hashes as the community tools define them, in one streaming pass over the file (bounded memory):
 * - sha256: SHA-256 of the whole file (A1111 "sha256"); AutoV2 = its first 10 hex digits, uppercase (Civitai).
 * - legacy: the old A1111 hash (Civitai AutoV1): first 8 hex digits of SHA-256 over the bytes [0x100000, 0x110000).
 *   Like A1111, whatever part of that range exists is hashed, so a file under 1 MiB gives e3b0c442 (empty input);
 *   Civitai shows none for files under 2 MiB (`legacyUnreliable`).
 * - autov3: SHA-256 of a safetensors file after its header (from byte 8 + N, N = the u64 little-endian header
 *   length), i.e. of the tensor data: kohya's sshs_model_hash, Civitai's AutoV3 (shown as its first 12 digits).
 *   As Civitai does, when N >= 16 MiB the header is not skipped and hashing starts at byte 8.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModeldiffError, throwIfAborted } from '../../../shared/errors';
import type { FileHashes, HashKind } from '../../../shared/analysis';
import type { HashCache } from './hashCache';

export const LEGACY_OFFSET = 0x100000;
export const LEGACY_LENGTH = 0x10000;
/** Civitai computes no AutoV1 for files smaller than this. */
export const LEGACY_MIN_CIVITAI = 2 * 0x100000;
/** Civitai's AutoV3 guard: headers of this length or more are not skipped. */
export const AUTOV3_HEADER_GUARD = 16 * 1024 * 1024;
export const CHUNK = 4 * 1024 * 1024;

export interface HashOptions {
  cache?: HashCache;
  signal?: AbortSignal;
  /** bytes hashed so far of this file */
  onBytes?: (done: number, total: number) => void;
  /** PyTorch files: read in extract-weights mode (src/compute/readers/pytorch/extractWeights.ts) */
  extractWeights?: boolean;
  /** every chunk of the file as it is read, in order (for hashing tensors in the same pass) */
  onChunk?: (chunk: Uint8Array, position: number) => void;
}

/** Where AutoV3 starts in a file that looks like safetensors, or -1. */
export function autov3Start(head: Uint8Array, size: number): { start: number; guard: boolean } | null {
  if (head.length < 9 || size < 10) return null;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || 8n + n > BigInt(size)) return null;
  // the header is JSON: an object, possibly after whitespace
  for (let i = 8; i < head.length && i < 8 + Number(n); i++) {
    const b = head[i]!;
    if (b === 0x7b) {
      const guard = n >= BigInt(AUTOV3_HEADER_GUARD);
      return { start: guard ? 8 : 8 + Number(n), guard };
    }
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return null;
  }
  return null;
}

/** SHA-256, AutoV2, legacy and AutoV3 of one file in a single streaming pass (or from the cache). */
export async function fileHashes(path: string, opts: HashOptions = {}): Promise<FileHashes> {
  const abs = resolve(path);
  const st = await stat(abs);
  if (!st.isFile()) throw new ModeldiffError('USAGE', 'is not a file', { file: abs });
  const cached = opts.cache?.lookup(abs, st.size, st.mtimeMs)?.file;
  if (cached) return { path: abs, size: st.size, mtimeMs: st.mtimeMs, ...cached };

  const fh = await open(abs, 'r');
  const full = createHash('sha256');
  const legacy = createHash('sha256');
  let v3: Hash | null = null;
  let v3From = -1;
  let guard = false;
  try {
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(64, st.size)));
    let pos = 0;
    for (;;) {
      throwIfAborted(opts.signal);
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (pos === 0) {
        const s = autov3Start(chunk.subarray(0, 64), st.size);
        if (s) {
          v3 = createHash('sha256');
          v3From = s.start;
          guard = s.guard;
        }
      }
      full.update(chunk);
      const lo = Math.max(pos, LEGACY_OFFSET);
      const hi = Math.min(pos + bytesRead, LEGACY_OFFSET + LEGACY_LENGTH);
      if (lo < hi) legacy.update(chunk.subarray(lo - pos, hi - pos));
      if (v3 && pos + bytesRead > v3From) v3.update(chunk.subarray(Math.max(0, v3From - pos)));
      opts.onChunk?.(chunk, pos);
      pos += bytesRead;
      opts.onBytes?.(pos, st.size);
    }
    if (pos !== st.size) throw new ModeldiffError('IO_ERROR', `the file changed while it was hashed (read ${pos} of ${st.size} bytes)`, { file: abs });
  } finally {
    await fh.close();
  }
  const after = await stat(abs);
  if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) throw new ModeldiffError('IO_ERROR', 'the file changed while it was hashed', { file: abs });
  const sha256 = full.digest('hex');
  const autov3 = v3 ? v3.digest('hex') : null;
  const hashes: Omit<FileHashes, 'path' | 'size' | 'mtimeMs'> = {
    sha256,
    autov2: sha256.slice(0, 10).toUpperCase(),
    legacy: legacy.digest('hex').slice(0, 8),
    legacyUnreliable: st.size < LEGACY_MIN_CIVITAI,
    autov3,
    autov3Short: autov3 ? autov3.slice(0, 12).toUpperCase() : null,
  };
  if (guard) hashes.autov3HeaderGuard = true;
  opts.cache?.store(abs, st.size, st.mtimeMs, { file: hashes });
  return { path: abs, size: st.size, mtimeMs: st.mtimeMs, ...hashes };
}

/**
 * Which of a file's hashes a declared hash string is: a full SHA-256 (or AutoV3) in any case, optionally 0x-prefixed;
 * 10 hex digits = AutoV2 / A1111 shorthash; 12 = AutoV3 as Civitai shows it; 8 = legacy. Null when none matches.
 */
export function matchHash(declared: string, h: Pick<FileHashes, 'sha256' | 'legacy' | 'autov3'>): HashKind | null {
  const s = declared.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]+$/.test(s)) return null;
  if (s.length === 64) return s === h.sha256 ? 'sha256' : s === h.autov3 ? 'autov3' : null;
  if (s.length === 10) return h.sha256.startsWith(s) ? 'autov2' : null;
  if (s.length === 12) return h.autov3?.startsWith(s) ? 'autov3' : null;
  if (s.length === 8) return s === h.legacy ? 'legacy' : null;
  return null;
}
