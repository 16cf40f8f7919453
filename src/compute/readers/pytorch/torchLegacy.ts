import type { FileHandle } from 'node:fs/promises';
import type { Checkpoint } from '../../model/checkpoint';
import { bytesPerElement } from '../../model/dtypes';
import { ModeldiffError, throwIfAborted } from '../../../shared/errors';
import { readRange } from '../../io/fileRange';
import { NeedMoreInput, unpickle, type PickleHooks } from '../pickle/unpickler';
import { dictGet, kindOf, type PickleValue, type StorageValue } from '../pickle/values';
import { ignoredObjectsNote } from './extractWeights';
import { parseStoragePid, torchPickleHooks, type TorchPickleOptions } from './torchGlobals';
import { aliasingNote, checkViewsCost, extractStateDict, tensorRef } from './torchStateDict';
import { MAX_PICKLE_BYTES } from './torchZip';

/** `torch.serialization.MAGIC_NUMBER` as the 10 little-endian bytes of its LONG1. */
export const LEGACY_MAGIC = Uint8Array.of(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const LEGACY_PROTOCOL_VERSION = 1001;
const FIRST_READ = 1 << 20;

/** The magic pickle must be exactly PROTO n, LONG1 10 <magic>, STOP: a literal, never something computed. */
export function isLegacyMagic(head: Uint8Array): boolean {
  if (head.length < 15 || head[0] !== 0x80 || head[1]! < 2 || head[1]! > 5 || head[2] !== 0x8a || head[3] !== 0x0a || head[14] !== 0x2e) return false;
  return LEGACY_MAGIC.every((b, i) => head[4 + i] === b);
}

interface Header {
  root: PickleValue;
  /** Root storages by key, and the keys in the order their bytes follow the pickles. */
  storages: Map<string, StorageValue>;
  keys: string[];
  /** File offset of the first storage's size prefix. */
  dataStart: number;
}

/**
 * A pre-1.6 PyTorch file (`_use_new_zipfile_serialization=False`): five pickles (magic, protocol version, sys_info,
 * the object, the sorted storage keys), then each storage as an int64 element count and its raw bytes.
 * Offsets come from the count prefixes alone; no tensor data is read.
 */
export async function openTorchLegacy(handle: FileHandle, fileSize: number, path: string, signal?: AbortSignal, opts: TorchPickleOptions = {}): Promise<Omit<Checkpoint, 'files'>> {
  const header = await readHeader(handle, fileSize, path, opts, signal);
  const starts = new Map<string, number>();
  let pos = header.dataStart;
  for (const key of header.keys) {
    throwIfAborted(signal);
    const storage = header.storages.get(key)!;
    const prefix = await readRange(handle, pos, 8, path, 'PT_INVALID', `the size of storage "${key}"`);
    const count = new DataView(prefix.buffer).getBigInt64(0, true);
    if (count !== BigInt(storage.numel)) {
      throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${key}" is stored with ${count} elements but the pickle says ${storage.numel}`, { file: path });
    }
    const nbytes = storage.numel * bytesPerElement(storage.dtype)!;
    if (pos + 8 + nbytes > fileSize) {
      throw new ModeldiffError('PT_INVALID', `the file ends inside storage "${key}" (it needs bytes ${pos + 8} to ${pos + 8 + nbytes} of ${fileSize}): it is truncated`, { file: path });
    }
    starts.set(key, pos + 8);
    pos += 8 + nbytes;
  }
  if (pos !== fileSize) {
    throw new ModeldiffError('PT_INVALID', `the file has ${fileSize - pos} bytes after its last storage: it is damaged or has other data appended`, { file: path });
  }

  const state = extractStateDict(header.root);
  const tensors = state.tensors.map((t) => {
    const s = t.value.storage;
    const rootStorage = header.storages.get(s.key)!;
    const viewStart = s.view ? s.view.offset * bytesPerElement(rootStorage.dtype)! : 0;
    return tensorRef(t, path, starts.get(s.key)! + viewStart, 'little');
  });
  checkViewsCost(tensors, fileSize, path);
  const notes = ['legacy PyTorch format (before 1.6)', ...state.notes];
  const ignored = opts.extractWeights ? ignoredObjectsNote(header.root) : undefined;
  if (ignored) notes.push(ignored);
  const alias = aliasingNote(state.tensors);
  if (alias) notes.push(alias);
  return { path, format: 'pytorch-legacy', sizeBytes: fileSize, tensors, metadata: state.metadata, notes, naming: 'ldm' };
}

/** Parses the five pickles from a growing prefix of the file (they are small; the storages after them are not). */
async function readHeader(handle: FileHandle, fileSize: number, path: string, opts: TorchPickleOptions, signal?: AbortSignal): Promise<Header> {
  let length = Math.min(fileSize, FIRST_READ);
  for (;;) {
    throwIfAborted(signal);
    const bytes = await readRange(handle, 0, length, path, 'PT_INVALID', 'the pickled header');
    try {
      return parseHeader(bytes, fileSize, opts);
    } catch (e) {
      if (!(e instanceof NeedMoreInput)) throw e;
      if (length >= fileSize) throw new ModeldiffError('ENGINE_INTERNAL', 'the legacy reader asked for more bytes than the file has');
      if (length >= MAX_PICKLE_BYTES) {
        throw new ModeldiffError('PT_LIMIT', `refuses to load: the pickled part of the file is larger than ${MAX_PICKLE_BYTES} bytes`, { file: path });
      }
      length = Math.min(fileSize, MAX_PICKLE_BYTES, Math.max(length * 2, e.wanted));
    }
  }
}

function parseHeader(bytes: Uint8Array, fileSize: number, opts: TorchPickleOptions): Header {
  if (!isLegacyMagic(bytes)) {
    throw new ModeldiffError('PT_INVALID', 'is not a PyTorch file: its first pickle is not the literal PyTorch magic number');
  }
  let pos = 15;
  const next = (hooks: PickleHooks): PickleValue => {
    const r = unpickle(bytes, pos, hooks, { sourceLength: fileSize - pos });
    pos = r.end;
    return r.value;
  };

  const version = next(DATA_ONLY);
  if (version.kind !== 'int' || version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new ModeldiffError('PT_UNSUPPORTED', `refuses to load: the legacy protocol version is ${version.kind === 'int' ? String(version.value) : kindOf(version)}, not ${LEGACY_PROTOCOL_VERSION}`);
  }
  const sysInfo = next(DATA_ONLY);
  if (sysInfo.kind !== 'dict') throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: its sys_info is ${kindOf(sysInfo)}, not a dict`);
  const little = dictGet(sysInfo, 'little_endian');
  if (little?.kind !== 'bool') throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: its sys_info does not say the byte order');
  if (!little.value) throw new ModeldiffError('PT_UNSUPPORTED', 'refuses to load: the file was written on a big-endian machine in the legacy format, which is not supported');

  const storages = new Map<string, StorageValue>();
  const views = new Map<string, StorageValue>();
  const persistentLoad = (pid: PickleValue): PickleValue => {
    const { storage, view } = parseStoragePid(pid, true);
    const known = storages.get(storage.key);
    if (known && (known.typeName !== storage.typeName || known.numel !== storage.numel)) {
      throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${storage.key}" is used as ${known.typeName} of ${known.numel} and as ${storage.typeName} of ${storage.numel}`);
    }
    if (storage.untyped) throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: a legacy file uses an untyped storage');
    if (!known) storages.set(storage.key, storage);
    const rootStorage = known ?? storage;
    if (view.kind === 'none') return rootStorage;
    const [viewKey, offset, size] = view.kind === 'tuple' && view.items.length === 3 ? view.items : [];
    if (viewKey?.kind !== 'str' || offset?.kind !== 'int' || size?.kind !== 'int' || typeof offset.value !== 'number' || typeof size.value !== 'number' || offset.value < 0 || size.value < 0) {
      throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${storage.key}" has a view description that is ${kindOf(view)}, not (key, offset, size)`);
    }
    if (offset.value + size.value > rootStorage.numel) {
      throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: view "${viewKey.value}" covers elements ${offset.value} to ${offset.value + size.value} of storage "${storage.key}", which has ${rootStorage.numel}`);
    }
    const viewStorage: StorageValue = { ...rootStorage, numel: size.value, view: { offset: offset.value, numel: size.value } };
    const knownView = views.get(viewKey.value);
    if (knownView && (knownView.key !== viewStorage.key || knownView.view!.offset !== offset.value || knownView.numel !== size.value)) {
      throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: view "${viewKey.value}" is described twice differently`);
    }
    if (!knownView) views.set(viewKey.value, viewStorage);
    return knownView ?? viewStorage;
  };
  const root = next(torchPickleHooks(persistentLoad, opts));

  const keyList = next(DATA_ONLY);
  if (keyList.kind !== 'list') throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: its storage key list is ${kindOf(keyList)}, not a list`);
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const k of keyList.items) {
    if (k.kind !== 'str') throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: a storage key is ${kindOf(k)}, not a string`);
    if (seen.has(k.value)) throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${k.value}" is listed twice`);
    if (!storages.has(k.value)) throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${k.value}" is listed but no tensor uses it`);
    seen.add(k.value);
    keys.push(k.value);
  }
  for (const k of storages.keys()) {
    if (!seen.has(k)) throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${k}" is used but its bytes are not in the file`);
  }
  return { root, storages, keys, dataStart: pos };
}

/** Hooks for the pickles around the object: plain data only. */
const DATA_ONLY: PickleHooks = {
  findGlobal(module, name) {
    throw new ModeldiffError('PT_UNSAFE_GLOBAL', `refuses to load: the pickle imports ${module}.${name}, which could run code`, { details: { global: `${module}.${name}` } });
  },
  reduce() {
    throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: a header pickle calls a function');
  },
  newObject() {
    throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: a header pickle creates an object');
  },
  build() {
    throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: a header pickle sets object state');
  },
  persistentLoad() {
    throw new ModeldiffError('PT_INVALID', 'the checkpoint is malformed: a header pickle refers to a storage');
  },
};
