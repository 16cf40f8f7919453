/**
 * Component content hash: SHA-256 over the component's tensors sorted by key (JavaScript string order), each as
 *   u32le(len) key-bytes  u32le(len) dtype  u32le(rank) rank x u64le(dim)  u64le(byteLength) SHA-256(tensor-bytes)
 * where key is the canonical key without the component's prefix (the architecture table's: `model.diffusion_model.`,
 * `cond_stage_model.`, `conditioner.embedders.N.`, `first_stage_model.`, `model_ema.`), dtype its safetensors name,
 * and the tensor bytes the little-endian elements in C order (strided views gathered, big-endian storage swapped). So
 * the same VAE or text encoder has the same hash in any container, key order, or naming variant the canonicaliser
 * knows (NovelAI text encoder names, the SDXL refiner's embedders.0), and an SD1 text encoder used as SDXL's CLIP-L
 * (te vs te0) too. Hashing each tensor on its own lets one sequential read of the file give the file hashes and every
 * tensor's digest (tensors whose bytes are a plain slice of the file); only strided, split or big-endian tensors are
 * read again.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { bytesPerElement } from '../../model/dtypes';
import { ModeldiffError, throwIfAborted } from '../../../shared/errors';
import { isContiguous, readFully, readTensorElements } from '../../io/tensorBytes';
import { componentPrefix } from '../../keys/architectures';
import { loadModel } from '../../model/loadModel';
import { quantIdentity } from '../../quant/encoding';
import { auxRanges } from '../../quant/layout';
import { openCheckpoint } from '../../readers/registry';
import type { TensorRef } from '../../model/checkpoint';
import type { ComponentHash, FileHashes, ModelHashes, SharedComponent } from '../../../shared/analysis';
import { CHUNK, fileHashes, type HashOptions } from './fileHashes';
import type { HashCache } from './hashCache';

/** Key of a tensor inside its component, as hashed: without the component's prefix (the architecture table's). */
export function componentRelativeKey(key: string, component: string): string {
  const p = componentPrefix(component) ?? `${component}.`;
  return key.startsWith(p) ? key.slice(p.length) : key;
}

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
export function tensorRecordHeader(relKey: string, ref: Pick<TensorRef, 'dtype' | 'shape' | 'byteLength' | 'quant'>): Uint8Array[] {
  const k = Buffer.from(relKey, 'utf8');
  // a quantised tensor's values also depend on its encoding (a scale, a code book): it is part of the dtype here
  const d = Buffer.from(ref.quant ? `${ref.dtype}:${quantIdentity(ref.quant)}` : ref.dtype, 'latin1');
  return [u32(k.length), k, u32(d.length), d, u32(ref.shape.length), ...ref.shape.map(u64), u64(ref.byteLength)];
}

interface TensorJob {
  rel: string;
  component: string;
  ref: TensorRef;
  digest?: Buffer;
}

/** A tensor whose bytes, as hashed, are exactly bytes [offset, offset + byteLength) of the model file itself. */
function isFileSlice(ref: TensorRef, file: string): boolean {
  const esize = bytesPerElement(ref.dtype);
  return ref.file === file && !ref.parts && !(ref.quant && auxRanges(ref.quant).length) && (!ref.strides || isContiguous(ref.shape, ref.strides)) && (ref.byteOrder !== 'big' || esize === undefined || esize === 1);
}

/** SHA-256 of a tensor's little-endian C-order bytes, read through readTensorElements (strided, parts, big-endian). */
function digestByReads(fd: number, ref: TensorRef, buf: Uint8Array, signal?: AbortSignal): Buffer {
  const h = createHash('sha256');
  const esize = bytesPerElement(ref.dtype);
  if (esize === undefined) {
    const whole = new Uint8Array(ref.byteLength);
    readTensorElements(fd, ref, 0, ref.numel, whole, 0);
    h.update(whole);
    for (const part of ref.quant ? auxRanges(ref.quant) : []) {
      const aux = new Uint8Array(part.byteLength);
      readFully(fd, aux, 0, part.byteLength, part.offset, ref);
      h.update(aux);
    }
  } else {
    const per = Math.max(1, Math.floor(buf.length / esize));
    for (let start = 0; start < ref.numel; start += per) {
      throwIfAborted(signal);
      const count = Math.min(per, ref.numel - start);
      readTensorElements(fd, ref, start, count, buf, 0);
      h.update(buf.subarray(0, count * esize));
    }
  }
  return h.digest();
}

function componentDigests(jobs: TensorJob[], components: string[]): Record<string, ComponentHash> {
  const out: Record<string, ComponentHash> = {};
  for (const component of components) {
    const list = jobs.filter((j) => j.component === component).sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
    const h = createHash('sha256');
    let bytes = 0;
    for (const j of list) {
      for (const part of tensorRecordHeader(j.rel, j.ref)) h.update(part);
      h.update(j.digest!);
      bytes += j.ref.byteLength;
    }
    out[component] = { sha256: h.digest('hex'), tensors: list.length, bytes };
  }
  return out;
}

/**
 * File hashes (for a file) and component hashes of a model in one sequential read of the file; tensors that are not a
 * plain slice of it are read again on their own. Memory: one 4 MiB buffer and a hasher per tensor being read.
 */
async function hashModel(abs: string, opts: HashOptions, wantComponents: boolean): Promise<{ hashes: FileHashes | null; components: Record<string, ComponentHash> | null }> {
  const st = await stat(abs);
  const isFile = st.isFile();
  // a folder's mtime does not change when a file inside it is rewritten: diffusers folders are never cached
  const cache = isFile ? opts.cache : undefined;
  const cached = cache?.lookup(abs, st.size, st.mtimeMs);
  if (cached && (cached.file || !isFile) && (cached.components || !wantComponents)) {
    return { hashes: cached.file ? { path: abs, size: st.size, mtimeMs: st.mtimeMs, ...cached.file } : null, components: wantComponents ? cached.components! : null };
  }
  if (!wantComponents) return { hashes: await fileHashes(abs, opts), components: null };

  const model = loadModel(await openCheckpoint(abs, opts.signal, { extractWeights: !!opts.extractWeights }), 0);
  const jobs: TensorJob[] = [...model.tensors].map(([key, { ref, component }]) => ({ rel: componentRelativeKey(key, component), component, ref }));
  const sliced = isFile ? jobs.filter((j) => isFileSlice(j.ref, abs)).sort((x, y) => x.ref.offset - y.ref.offset) : [];
  const inPass = new Set(sliced);
  const rest = jobs.filter((j) => !inPass.has(j));
  const restBytes = rest.reduce((n, j) => n + j.ref.byteLength, 0);
  const total = (isFile ? st.size : 0) + restBytes;

  let hashes: FileHashes | null = null;
  if (isFile) {
    let next = 0;
    let active: { job: TensorJob; h: Hash }[] = [];
    hashes = await fileHashes(abs, {
      ...opts,
      cache: undefined,
      onBytes: (done) => opts.onBytes?.(done, total),
      onChunk: (chunk, pos) => {
        const end = pos + chunk.length;
        while (next < sliced.length && sliced[next]!.ref.offset < end) {
          const job = sliced[next++]!;
          if (job.ref.byteLength === 0) job.digest = createHash('sha256').digest();
          else active.push({ job, h: createHash('sha256') });
        }
        active = active.filter(({ job, h }) => {
          const lo = Math.max(pos, job.ref.offset);
          const hi = Math.min(end, job.ref.offset + job.ref.byteLength);
          if (lo < hi) h.update(chunk.subarray(lo - pos, hi - pos));
          if (job.ref.offset + job.ref.byteLength > end) return true;
          job.digest = h.digest();
          return false;
        });
      },
    });
    if (active.length || next < sliced.length) throw new ModeldiffError('IO_ERROR', 'tensor data lies past the end of the file', { file: abs });
  }

  let done = isFile ? st.size : 0;
  const fds = new Map<string, number>();
  const buf = new Uint8Array(CHUNK);
  try {
    for (const job of rest) {
      throwIfAborted(opts.signal);
      let fd = fds.get(job.ref.file);
      if (fd === undefined) fds.set(job.ref.file, (fd = openSync(job.ref.file, 'r')));
      job.digest = digestByReads(fd, job.ref, buf, opts.signal);
      done += job.ref.byteLength;
      opts.onBytes?.(done, total);
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  const components = componentDigests(jobs, Object.keys(model.info.components));
  const after = await stat(abs);
  if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) throw new ModeldiffError('IO_ERROR', 'the file changed while it was hashed', { file: abs });
  if (cache) {
    const patch: Parameters<HashCache['store']>[3] = { components };
    if (hashes) {
      const { path: _path, size: _size, mtimeMs: _mtime, ...file } = hashes;
      patch.file = file;
    }
    cache.store(abs, st.size, st.mtimeMs, patch);
  }
  return { hashes, components };
}

/** Content hash of every component of a model (one read of the file; see the top of this file). */
export async function componentHashes(path: string, opts: HashOptions = {}): Promise<Record<string, ComponentHash>> {
  return (await hashModel(resolve(path), opts, true)).components!;
}

/** File and (optionally) component hashes of a model; errors are reported in the result, not thrown. */
export async function modelHashes(path: string, opts: HashOptions & { components?: boolean } = {}): Promise<ModelHashes> {
  const abs = resolve(path);
  const out: ModelHashes = { file: abs.split(/[\\/]/).pop()!, path: abs, hashes: null, components: null };
  try {
    const h = await hashModel(abs, opts, !!opts.components);
    out.hashes = h.hashes;
    out.components = h.components;
  } catch (e) {
    if (e instanceof ModeldiffError && e.code === 'CANCELLED') throw e;
    out.error = e instanceof Error ? e.message : String(e);
    // not a model we can read: its file hashes still identify it
    if (opts.components) out.hashes = await fileHashes(abs, opts).catch(() => null);
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
  if (!st.isFile()) return null; // folders are never cached (see hashModel)
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
