import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Checkpoint, TensorRef } from '../../model/checkpoint';
import { ModeldiffError, throwIfAborted, toModeldiffError } from '../../../shared/errors';
import { isContiguous } from '../../io/tensorBytes';
import { openRegularFile, readSmallFile, type FileRecord } from '../../io/regularFile';
import { checkTensorCount } from '../../model/limits';
import { diffusersToLdm, type DiffusersArch, type LdmKey } from '../../keys/diffusersMap';
import { diffusersTransformerFamily } from '../../keys/diffusersTransformers';
import { openPytorch, PYTORCH_SNIFF_BYTES, sniffPytorch, type OpenOptions } from '../pytorch/reader';
import { openSafetensors, sniffSafetensors } from '../safetensors/reader';
import { parseStrictJson, type JsonValue } from '../strictJson';

/** The subfolders compared, in this order. */
export const DIFFUSERS_COMPONENTS = ['unet', 'transformer', 'text_encoder', 'text_encoder_2', 'text_encoder_3', 'vae'] as const;
const MAX_JSON_BYTES = 64 * 1024 * 1024;

const ARCH_LABEL: Record<DiffusersArch, string> = { sd1: 'SD 1.x', sd2: 'SD 2.x', 'sdxl-base': 'SDXL base', 'sdxl-refiner': 'SDXL refiner', flux: 'FLUX.1', sd3: 'SD3' };

interface WeightsChoice {
  /** The single weights file, or the index of a sharded set. */
  file: string;
  sharded: boolean;
  /** Other weight files of the subfolder, not read. */
  skipped: string[];
}

interface Component {
  name: string;
  tensors: TensorRef[];
  choice: WeightsChoice;
  bytes: number;
  /** the notes of its weight files (bytes after the last tensor...) */
  notes: string[];
  trailingBytes: number;
}

/**
 * A diffusers model folder (model_index.json beside unet/, text_encoder/, text_encoder_2/, vae/) as one checkpoint.
 * Each component's weights are read like any other file; tensor names are mapped to the single-file (LDM/SGM)
 * names so the folder compares with single-file checkpoints, and with other diffusers folders, key by key.
 */
export async function openDiffusers(path: string, signal?: AbortSignal, opts: OpenOptions = {}): Promise<Checkpoint> {
  try {
    // every file read, with the version read: each is checked again before the folder's results are kept
    const files: FileRecord[] = [];
    const index = await readJson(join(path, 'model_index.json'), files);
    if (!(index instanceof Map)) throw invalid('model_index.json is not a JSON object', path);
    const notes: string[] = [];
    const components: Component[] = [];
    for (const name of DIFFUSERS_COMPONENTS) {
      throwIfAborted(signal);
      const dir = join(path, name);
      if (!(await isDirectory(dir))) {
        const listed = index.get(name);
        if (Array.isArray(listed) && listed.some((v) => v !== null)) notes.push(`${name} is listed in model_index.json but has no folder`);
        continue;
      }
      const choice = await chooseWeights(dir, name, path);
      if (!choice) {
        notes.push(`${name}/ has no weights file`);
        continue;
      }
      const { tensors, bytes, notes: fileNotes, trailingBytes } = await readComponent(choice, name, files, opts, signal);
      components.push({ name, tensors, choice, bytes, notes: fileNotes, trailingBytes });
    }
    if (components.length === 0) {
      throw invalid(`the folder has model_index.json but none of ${DIFFUSERS_COMPONENTS.join(', ')} with weights`, path);
    }
    const others = await otherWeightFolders(path);
    if (others.length) notes.push(`not compared: ${others.join(', ')}`);

    const arch = await detectArch(path, components, files);
    const mapped = mapNames(components, arch, path);
    checkTensorCount(mapped.tensors.length, path);
    notes.unshift(`diffusers folder read as ${ARCH_LABEL[arch]}; tensor names mapped to single-file names`);
    for (const c of components) {
      const rel = (f: string) => `${c.name}/${basename(f)}`;
      notes.push(`${c.name}: read ${rel(c.choice.file)}${c.choice.skipped.length ? ` (not read: ${c.choice.skipped.map(rel).join(', ')})` : ''}`);
      for (const n of c.notes) notes.push(`${c.name}: ${n}`);
    }
    notes.push(...mapped.notes);
    const sizeBytes = components.reduce((s, c) => s + c.bytes, 0);
    const trailingBytes = components.reduce((s, c) => s + c.trailingBytes, 0);
    return { path, format: 'diffusers', sizeBytes, tensors: mapped.tensors, metadata: Object.create(null), notes, files, naming: 'ldm', ...(trailingBytes ? { facts: { trailingBytes } } : {}) };
  } catch (e) {
    const err = toModeldiffError(e, path);
    // a file inside the folder: say which, since the folder is what the run lists
    if (err.file && err.file.startsWith(path + sep) && !err.message.includes(basename(err.file))) err.message = `${relative(path, err.file)}: ${err.message}`;
    throw err;
  }
}

function invalid(problem: string, file: string): ModeldiffError {
  return new ModeldiffError('DIFFUSERS_INVALID', problem, { file });
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A JSON file of the folder: a regular file (never a FIFO or /dev/zero), read up to its size and a bound. */
async function readJson(file: string, files: FileRecord[]): Promise<JsonValue> {
  const { bytes, record } = await readSmallFile(file, MAX_JSON_BYTES, (size) => invalid(`${basename(file)} is ${size} bytes, more than a diffusers index ever needs`, file));
  files.push(record);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    if (e instanceof TypeError) throw invalid(`${basename(file)} is not valid UTF-8`, file);
    throw e;
  }
  try {
    return parseStrictJson(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    if (e instanceof ModeldiffError) throw invalid(`${basename(file)} is not valid JSON (${String(e.details?.reason ?? e.message)})`, file);
    throw e;
  }
}

const SINGLE = /^(diffusion_pytorch_model|model)(?:\.([A-Za-z0-9_-]+))?\.(safetensors|bin)$/;
const INDEX = /^(diffusion_pytorch_model|model)\.(safetensors|bin)\.index(?:\.([A-Za-z0-9_-]+))?\.json$/;
const SHARD = /^(diffusion_pytorch_model|model)(?:\.[A-Za-z0-9_-]+)?-\d+-of-\d+\.(safetensors|bin)$/;

/** 0: the default weights; 1: another full-precision variant; 2: an EMA/non-EMA variant; 3: reduced precision. */
function variantRank(variant: string | undefined): number {
  if (variant === undefined) return 0;
  if (/fp16|bf16|half|fp8|int8/i.test(variant)) return 3;
  if (/ema/i.test(variant)) return 2;
  return 1;
}

/**
 * The weights a subfolder is read from: the default file before variants, full precision before fp16, EMA
 * variants after the rest, safetensors before .bin, a single file before shards; ties by name.
 */
async function chooseWeights(dir: string, component: string, folder: string): Promise<WeightsChoice | undefined> {
  const names = (await readdir(dir)).sort();
  const candidates: (WeightsChoice & { rank: number[] })[] = [];
  for (const name of names) {
    let m = SINGLE.exec(name);
    if (m) {
      candidates.push({ file: join(dir, name), sharded: false, skipped: [], rank: [variantRank(m[2]), m[3] === 'safetensors' ? 0 : 1, 0] });
      continue;
    }
    m = INDEX.exec(name);
    if (m) {
      candidates.push({ file: join(dir, name), sharded: true, skipped: [], rank: [variantRank(m[3]), m[2] === 'safetensors' ? 0 : 1, 1] });
    }
  }
  if (candidates.length === 0) {
    if (names.some((n) => SHARD.test(n))) throw invalid(`${component}/ has sharded weights but no index file naming them`, folder);
    return undefined;
  }
  candidates.sort((a, b) => a.rank[0]! - b.rank[0]! || a.rank[1]! - b.rank[1]! || a.rank[2]! - b.rank[2]! || (a.file < b.file ? -1 : 1));
  const [chosen, ...rest] = candidates;
  return { file: chosen!.file, sharded: chosen!.sharded, skipped: rest.map((c) => c.file) };
}

/** A weights file, by content: the extension only decided that it is a candidate. */
interface Weights {
  tensors: TensorRef[];
  bytes: number;
  notes: string[];
  trailingBytes: number;
}

async function openWeights(file: string, files: FileRecord[], opts: OpenOptions, signal?: AbortSignal): Promise<Weights> {
  const { handle, identity } = await openRegularFile(file);
  let head: Uint8Array;
  const size = identity.size;
  try {
    head = new Uint8Array(Math.min(size, PYTORCH_SNIFF_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  let ckpt: Checkpoint;
  if (sniffSafetensors(head, size)) ckpt = await openSafetensors(file, signal);
  else if (sniffPytorch(head)) ckpt = await openPytorch(file, signal, opts);
  else throw invalid(`${basename(file)} is neither safetensors nor a PyTorch checkpoint`, file);
  files.push(...ckpt.files);
  return { tensors: ckpt.tensors, bytes: ckpt.sizeBytes, notes: ckpt.notes, trailingBytes: ckpt.facts?.trailingBytes ?? 0 };
}

async function readComponent(choice: WeightsChoice, component: string, files: FileRecord[], opts: OpenOptions, signal?: AbortSignal): Promise<Weights> {
  if (!choice.sharded) return openWeights(choice.file, files, opts, signal);
  const index = await readJson(choice.file, files);
  const map = index instanceof Map ? index.get('weight_map') : undefined;
  if (!(map instanceof Map)) throw invalid(`${component}/${basename(choice.file)} has no weight_map object`, choice.file);
  const byShard = new Map<string, Set<string>>();
  for (const [tensor, shard] of map) {
    if (typeof shard !== 'string' || shard !== basename(shard) || shard === '.' || shard === '..' || shard.includes('\\')) {
      throw invalid(`${component}/${basename(choice.file)} maps "${tensor}" to ${JSON.stringify(shard)}, not a file name in the same folder`, choice.file);
    }
    let set = byShard.get(shard);
    if (!set) byShard.set(shard, (set = new Set()));
    set.add(tensor);
  }
  const dir = join(choice.file, '..');
  const tensors: TensorRef[] = [];
  let bytes = 0;
  const notes: string[] = [];
  let trailingBytes = 0;
  const seen = new Set<string>();
  for (const [shard, expected] of [...byShard].sort(([a], [b]) => (a < b ? -1 : 1))) {
    throwIfAborted(signal);
    const file = join(dir, shard);
    const got = await openWeights(file, files, opts, signal);
    bytes += got.bytes;
    trailingBytes += got.trailingBytes;
    for (const n of got.notes) notes.push(`${shard}: ${n}`);
    for (const t of got.tensors) {
      if (!expected.has(t.name)) throw invalid(`${component}/${shard} holds "${t.name}", which the index puts elsewhere or nowhere`, file);
      if (seen.has(t.name)) throw invalid(`"${t.name}" appears in two shards of ${component}/`, file);
      seen.add(t.name);
      tensors.push(t);
    }
    for (const name of expected) {
      if (!got.tensors.some((t) => t.name === name)) throw invalid(`${component}/${shard} lacks "${name}", which the index says it holds`, file);
    }
  }
  return { tensors, bytes, notes, trailingBytes };
}

/** Subfolders with weights that are not compared (safety_checker, image_encoder...). */
async function otherWeightFolders(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(folder)).sort()) {
    if ((DIFFUSERS_COMPONENTS as readonly string[]).includes(name)) continue;
    const dir = join(folder, name);
    if (!(await isDirectory(dir))) continue;
    const files = await readdir(dir);
    if (files.some((f) => SINGLE.test(f) || INDEX.test(f))) out.push(name);
  }
  return out;
}

async function detectArch(folder: string, components: Component[], files: FileRecord[]): Promise<DiffusersArch> {
  const has = (name: string) => components.some((c) => c.name === name);
  const transformer = components.find((c) => c.name === 'transformer');
  if (transformer) {
    const family = diffusersTransformerFamily(new Set(transformer.tensors.map((t) => t.name)));
    if (family) return family;
    throw invalid('transformer/ holds neither a FLUX.1 nor an SD3 transformer in diffusers naming: this pipeline is not supported', folder);
  }
  const unet = components.find((c) => c.name === 'unet');
  const unetNames = new Map(unet?.tensors.map((t) => [t.name, t]) ?? []);
  if (has('text_encoder_2') || unetNames.has('add_embedding.linear_1.weight')) {
    const fourBlocks = [...unetNames.keys()].some((n) => n.startsWith('down_blocks.3.'));
    return (!has('text_encoder') && has('text_encoder_2')) || fourBlocks ? 'sdxl-refiner' : 'sdxl-base';
  }
  // SD 2.x projects attention with Linear layers (use_linear_projection), SD 1.x with 1x1 convolutions.
  const projIn = unetNames.get('down_blocks.0.attentions.0.proj_in.weight');
  if (projIn) return projIn.shape.length === 2 ? 'sd2' : 'sd1';
  try {
    const config = await readJson(join(folder, 'text_encoder', 'config.json'), files);
    if (config instanceof Map && config.get('hidden_act') === 'gelu') return 'sd2';
  } catch {
    // No readable config: SD 1.x is the common case.
  }
  return 'sd1';
}

export function mapNames(components: Pick<Component, 'name' | 'tensors'>[], arch: DiffusersArch, folder: string): { tensors: TensorRef[]; notes: string[] } {
  const out: TensorRef[] = [];
  const notes: string[] = [];
  const byName = new Map<string, string>();
  const add = (ref: TensorRef, source: string) => {
    const other = byName.get(ref.name);
    if (other !== undefined) throw invalid(`${other} and ${source} both stand for "${ref.name}"`, folder);
    byName.set(ref.name, source);
    out.push(ref);
  };
  let unmapped = 0;
  const unmappedExamples: string[] = [];
  for (const c of components) {
    const groups = new Map<string, { key: LdmKey; ref: TensorRef }[]>();
    const keep = (t: TensorRef) => {
      unmapped++;
      if (unmappedExamples.length < 3) unmappedExamples.push(`${c.name}/${t.name}`);
      add({ ...t, name: `diffusers.${c.name}.${t.name}` }, `${c.name}/${t.name}`);
    };
    const shapes = new Map(c.tensors.map((t) => [t.name, t.shape]));
    let unswapped = 0;
    for (const t of c.tensors) {
      const key = diffusersToLdm(c.name, t.name, t.shape, arch, (n) => shapes.get(n));
      if (!key) keep(t);
      else if (key.swapHalves) {
        const s = swapped(t, key.key);
        if (s) add(s, `${c.name}/${t.name}`);
        else (unswapped++, keep(t));
      }
      else if (key.part) {
        let g = groups.get(key.key);
        if (!g) groups.set(key.key, (g = []));
        g.push({ key, ref: t });
      } else if (key.transpose) add(transposed(t, key), `${c.name}/${t.name}`);
      else add({ ...t, name: key.key, shape: key.shape ?? t.shape }, `${c.name}/${t.name}`);
    }
    let split = 0;
    for (const [key, members] of groups) {
      const joined = joinParts(key, members);
      if (joined) add(joined, `${c.name}/${members.map((m) => m.ref.name).join('+')}`);
      else {
        split++;
        for (const m of members) keep(m.ref);
      }
    }
    if (split > 0) notes.push(`${c.name}: ${split} attention projections could not be joined into fused tensors (a part missing, or parts in different files or dtypes); they keep diffusers names`);
    if (unswapped > 0) notes.push(`${c.name}: ${unswapped} modulation tensors could not be reordered (shift, scale) as the single file stores them; they keep diffusers names`);
  }
  if (unmapped > 0) notes.push(`${unmapped} tensors have no single-file name and keep diffusers.<component>.<name> names (e.g. ${unmappedExamples.join(', ')})`);
  return { tensors: out, notes };
}

/** The LDM tensor as a strided view of the diffusers bytes: the same data read with swapped strides. */
function transposed(t: TensorRef, key: LdmKey): TensorRef {
  const strides = t.strides ?? [t.shape[1]!, 1];
  const ref: TensorRef = { ...t, name: key.key, shape: key.shape!, strides: [strides[1]!, strides[0]!] };
  if (isContiguous(ref.shape, ref.strides!)) delete ref.strides;
  return ref;
}

/** The tensor with the halves of dimension 0 swapped: two parts of the same bytes, second half first. */
function swapped(t: TensorRef, key: string): TensorRef | undefined {
  const rows = t.shape[0];
  if (rows === undefined || rows % 2 !== 0 || t.parts || t.quant || (t.strides && !isContiguous(t.shape, t.strides))) return undefined;
  const half = t.byteLength / 2;
  const ref: TensorRef = { ...t, name: key, offset: t.offset + half, parts: [{ offset: t.offset + half, byteLength: half }, { offset: t.offset, byteLength: half }] };
  delete ref.strides;
  return ref;
}

/** q, k and v as one tensor made of three parts, when they can be read as one. */
function joinParts(key: string, members: { key: LdmKey; ref: TensorRef }[]): TensorRef | undefined {
  const of = members[0]!.key.part!.of;
  if (members.length !== of) return undefined;
  const ordered = members.slice().sort((a, b) => a.key.part!.index - b.key.part!.index);
  if (ordered.some((m, i) => m.key.part!.index !== i)) return undefined;
  const first = ordered[0]!.ref;
  const rest = first.shape.slice(1).join(',');
  const compatible = ordered.every(
    ({ ref }) =>
      ref.file === first.file &&
      ref.dtype === first.dtype &&
      !ref.quant &&
      (ref.byteOrder ?? 'little') === (first.byteOrder ?? 'little') &&
      !ref.parts &&
      (!ref.strides || isContiguous(ref.shape, ref.strides)) &&
      ref.shape.length === first.shape.length &&
      ref.shape.length > 0 &&
      ref.shape.slice(1).join(',') === rest,
  );
  if (!compatible) return undefined;
  const rows = ordered.reduce((s, m) => s + m.ref.shape[0]!, 0);
  const ref: TensorRef = {
    name: key,
    dtype: first.dtype,
    shape: [rows, ...first.shape.slice(1)],
    numel: ordered.reduce((s, m) => s + m.ref.numel, 0),
    file: first.file,
    offset: first.offset,
    byteLength: ordered.reduce((s, m) => s + m.ref.byteLength, 0),
    parts: ordered.map((m) => ({ offset: m.ref.offset, byteLength: m.ref.byteLength })),
  };
  if (first.byteOrder === 'big') ref.byteOrder = 'big';
  return ref;
}

/**
 * A single file holding a FLUX.1 or SD3 transformer in diffusers naming (`transformer_blocks.0.attn.add_k_proj...`,
 * as fine-tunes are often published): its names mapped as a pipeline folder's transformer/ is, so it compares with
 * single-file and all-in-one checkpoints. Any other checkpoint is returned as is.
 */
export function mapDiffusersTransformerFile(ckpt: Checkpoint): Checkpoint {
  const family = diffusersTransformerFamily(new Set(ckpt.tensors.map((t) => t.name)));
  if (!family) return ckpt;
  const mapped = mapNames([{ name: 'transformer', tensors: ckpt.tensors }], family, ckpt.path);
  return { ...ckpt, tensors: mapped.tensors, notes: [...ckpt.notes, `${ARCH_LABEL[family]} transformer in diffusers naming: tensor names mapped to single-file names`, ...mapped.notes] };
}
