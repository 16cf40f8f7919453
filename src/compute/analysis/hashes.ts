/**
 * Model hashes as the community tools define them, computed by streaming reads (bounded memory), and cached by
 * (path, size, mtimeMs) in a JSON file.
 *
 * File hashes, one pass over the file:
 * - sha256: SHA-256 of the whole file (A1111 "sha256"); AutoV2 = its first 10 hex digits, uppercase (Civitai).
 * - legacy: the old A1111 hash (Civitai AutoV1): first 8 hex digits of SHA-256 over the bytes [0x100000, 0x110000).
 *   Like A1111, whatever part of that range exists is hashed, so a file under 1 MiB gives e3b0c442 (empty input);
 *   Civitai shows none for files under 2 MiB (`legacyUnreliable`).
 * - autov3: SHA-256 of a safetensors file after its header (from byte 8 + N, N = the u64 little-endian header
 *   length), i.e. of the tensor data: kohya's sshs_model_hash, Civitai's AutoV3 (shown as its first 12 digits).
 *   As Civitai does, when N >= 16 MiB the header is not skipped and hashing starts at byte 8.
 *
 * Component content hash: SHA-256 over the component's tensors sorted by key (JavaScript string order), each as
 *   u32le(len) key-bytes  u32le(len) dtype  u32le(rank) rank x u64le(dim)  u64le(byteLength) tensor-bytes
 * where key is the canonical key without the component's prefix (`model.diffusion_model.`, `cond_stage_model.`,
 * `conditioner.embedders.N.`, `first_stage_model.`, `model_ema.`), dtype its safetensors name, and the bytes the
 * little-endian elements in C order (strided views gathered, big-endian storage swapped). So the same VAE or text
 * encoder has the same hash in any container, key order, or naming variant the canonicaliser knows (NovelAI text
 * encoder names, the SDXL refiner's embedders.0), and an SD1 text encoder used as SDXL's CLIP-L (te vs te0) too.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bytesPerElement } from '../dtypes';
import { ModeldiffError, throwIfAborted } from '../errors';
import { readTensorElements } from '../io/tensorBytes';
import { loadModel } from '../model';
import { openCheckpoint } from '../readers/registry';
import type { TensorRef } from '../checkpoint';
import type { ComponentHash, FileHashes, HashKind, ModelHashes, SharedComponent } from './types';

export const LEGACY_OFFSET = 0x100000;
export const LEGACY_LENGTH = 0x10000;
/** Civitai computes no AutoV1 for files smaller than this. */
export const LEGACY_MIN_CIVITAI = 2 * 0x100000;
/** Civitai's AutoV3 guard: headers of this length or more are not skipped. */
export const AUTOV3_HEADER_GUARD = 16 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;

/** Component prefixes stripped from keys in the content hash. */
export const COMPONENT_PREFIX: Record<string, string> = {
  unet: 'model.diffusion_model.',
  te: 'cond_stage_model.',
  te0: 'conditioner.embedders.0.',
  te1: 'conditioner.embedders.1.',
  vae: 'first_stage_model.',
  ema: 'model_ema.',
};

/** Key of a tensor inside its component, as hashed. */
export function componentRelativeKey(key: string, component: string): string {
  const p = COMPONENT_PREFIX[component] ?? `${component}.`;
  return key.startsWith(p) ? key.slice(p.length) : key;
}

// ---------------------------------------------------------------------------------------------------------------
// Cache

interface CacheEntry {
  size: number;
  mtimeMs: number;
  file?: Omit<FileHashes, 'path' | 'size' | 'mtimeMs'>;
  components?: Record<string, ComponentHash>;
}

interface CacheFile {
  modeldiffHashCache: 1;
  entries: Record<string, CacheEntry>;
}

/** Hashes by absolute path, valid while the file's size and mtime are unchanged. */
export class HashCache {
  private entries: Record<string, CacheEntry> = {};
  private dirty = false;

  constructor(readonly file: string | null) {
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // no cache yet
    }
    try {
      const parsed = JSON.parse(text) as CacheFile;
      if (parsed && parsed.modeldiffHashCache === 1 && parsed.entries && typeof parsed.entries === 'object') this.entries = parsed.entries;
    } catch {
      // a damaged cache is rebuilt
    }
  }

  lookup(path: string, size: number, mtimeMs: number): CacheEntry | undefined {
    const e = this.entries[resolve(path)];
    return e && e.size === size && e.mtimeMs === mtimeMs ? e : undefined;
  }

  store(path: string, size: number, mtimeMs: number, patch: Pick<CacheEntry, 'file' | 'components'>): void {
    const key = resolve(path);
    const old = this.entries[key];
    const base: CacheEntry = old && old.size === size && old.mtimeMs === mtimeMs ? old : { size, mtimeMs };
    this.entries[key] = { ...base, ...patch };
    this.dirty = true;
  }

  /** Writes the cache (atomically) when something changed. */
  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const body: CacheFile = { modeldiffHashCache: 1, entries: this.entries };
    writeFileSync(this.file + '.tmp', JSON.stringify(body, null, 1));
    renameSync(this.file + '.tmp', this.file);
    this.dirty = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// File hashes

export interface HashOptions {
  cache?: HashCache;
  signal?: AbortSignal;
  /** bytes hashed so far of this file */
  onBytes?: (done: number, total: number) => void;
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

// ---------------------------------------------------------------------------------------------------------------
// Component content hashes

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** The record header of one tensor in a component hash (everything but the bytes). */
export function tensorRecordHeader(relKey: string, ref: Pick<TensorRef, 'dtype' | 'shape' | 'byteLength'>): Uint8Array[] {
  const k = Buffer.from(relKey, 'utf8');
  const d = Buffer.from(ref.dtype, 'latin1');
  return [u32(k.length), k, u32(d.length), d, u32(ref.shape.length), ...ref.shape.map(u64), u64(ref.byteLength)];
}

/** Content hash of every component of a model (reads every tensor once; memory: one 4 MiB buffer). */
export async function componentHashes(path: string, opts: HashOptions = {}): Promise<Record<string, ComponentHash>> {
  const abs = resolve(path);
  const st = await stat(abs);
  const cached = opts.cache?.lookup(abs, st.size, st.mtimeMs)?.components;
  if (cached) return cached;

  const model = loadModel(await openCheckpoint(abs, opts.signal), 0);
  const byComponent = new Map<string, { rel: string; ref: TensorRef }[]>();
  for (const [key, { ref, component }] of model.tensors) {
    let list = byComponent.get(component);
    if (!list) byComponent.set(component, (list = []));
    list.push({ rel: componentRelativeKey(key, component), ref });
  }
  const total = [...model.tensors.values()].reduce((s, t) => s + t.ref.byteLength, 0);
  let done = 0;
  const fds = new Map<string, number>();
  const fdOf = (file: string) => {
    let fd = fds.get(file);
    if (fd === undefined) fds.set(file, (fd = openSync(file, 'r')));
    return fd;
  };
  const out: Record<string, ComponentHash> = {};
  const buf = new Uint8Array(CHUNK);
  try {
    for (const component of Object.keys(model.info.components)) {
      const list = byComponent.get(component) ?? [];
      list.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
      const h = createHash('sha256');
      let bytes = 0;
      for (const { rel, ref } of list) {
        throwIfAborted(opts.signal);
        for (const part of tensorRecordHeader(rel, ref)) h.update(part);
        const fd = fdOf(ref.file);
        const esize = bytesPerElement(ref.dtype);
        if (esize === undefined) {
          const whole = new Uint8Array(ref.byteLength);
          readTensorElements(fd, ref, 0, ref.numel, whole, 0);
          h.update(whole);
        } else {
          const per = Math.max(1, Math.floor(CHUNK / esize));
          for (let start = 0; start < ref.numel; start += per) {
            const count = Math.min(per, ref.numel - start);
            readTensorElements(fd, ref, start, count, buf, 0);
            h.update(buf.subarray(0, count * esize));
          }
        }
        bytes += ref.byteLength;
        done += ref.byteLength;
        opts.onBytes?.(done, total);
      }
      out[component] = { sha256: h.digest('hex'), tensors: list.length, bytes };
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  const after = await stat(abs);
  if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) throw new ModeldiffError('IO_ERROR', 'the file changed while it was hashed', { file: abs });
  opts.cache?.store(abs, st.size, st.mtimeMs, { components: out });
  return out;
}

/** File and (optionally) component hashes of a model; errors are reported in the result, not thrown. */
export async function modelHashes(path: string, opts: HashOptions & { components?: boolean } = {}): Promise<ModelHashes> {
  const abs = resolve(path);
  const out: ModelHashes = { file: abs.split(/[\\/]/).pop()!, path: abs, hashes: null, components: null };
  try {
    out.hashes = await fileHashes(abs, opts);
    if (opts.components) out.components = await componentHashes(abs, opts);
  } catch (e) {
    if (e instanceof ModeldiffError && e.code === 'CANCELLED') throw e;
    out.error = e instanceof Error ? e.message : String(e);
  }
  return out;
}

/** What the cache already knows of a model file (no file read but a stat); null when nothing is cached. */
export function cachedModelHashes(path: string, cache: HashCache): ModelHashes | null {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return null;
  }
  const e = cache.lookup(abs, st.size, st.mtimeMs);
  if (!e || (!e.file && !e.components)) return null;
  return {
    file: abs.split(/[\\/]/).pop()!,
    path: abs,
    hashes: e.file ? { path: abs, size: st.size, mtimeMs: st.mtimeMs, ...e.file } : null,
    components: e.components ?? null,
  };
}

/** Component hashes present in more than one file (or twice in one file under two names). */
export function sharedComponents(models: readonly ModelHashes[]): SharedComponent[] {
  const by = new Map<string, SharedComponent>();
  for (const m of models) {
    for (const [component, h] of Object.entries(m.components ?? {})) {
      if (h.tensors === 0) continue;
      let s = by.get(h.sha256);
      if (!s) by.set(h.sha256, (s = { sha256: h.sha256, members: [], tensors: h.tensors, bytes: h.bytes }));
      s.members.push({ file: m.file, component });
    }
  }
  return [...by.values()].filter((s) => s.members.length > 1).sort((a, b) => b.bytes - a.bytes || (a.sha256 < b.sha256 ? -1 : 1));
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

/** The default cache file: $XDG_CACHE_HOME/modeldiff/hashes.json (or ~/.cache/...). */
export function defaultHashCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || (env.HOME || env.USERPROFILE ? resolve(env.HOME || env.USERPROFILE!, '.cache') : resolve('.cache'));
  return resolve(base, 'modeldiff', 'hashes.json');
}
