import type { FileHandle } from 'node:fs/promises';
import type { Checkpoint } from '../../model/checkpoint';
import { bytesPerElement } from '../../model/dtypes';
import { ModeldiffError, throwIfAborted } from '../../../shared/errors';
import { unpickle } from '../pickle/unpickler';
import type { PickleValue, StorageValue } from '../pickle/values';
import { ignoredObjectsNote } from './extractWeights';
import { parseStoragePid, torchPickleHooks, type TorchPickleOptions } from './torchGlobals';
import { aliasingNote, checkViewsCost, extractStateDict, tensorRef } from './torchStateDict';
import { checkStored, readStoredRecord, readZipDirectory, type ZipEntry } from './zip';

/** Largest data.pkl read. A state dict of a few thousand tensors pickles to well under a megabyte. */
export const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

/** Records torch.save writes besides data.pkl and data/<key>; anything else is reported. */
const KNOWN_RECORDS = new Set(['version', '.data/version', 'byteorder', '.data/serialization_id', '.format_version', '.storage_alignment']);

/**
 * A torch >= 1.6 checkpoint: a zip whose first entry names the archive folder `<root>/`; `<root>/data.pkl` is the
 * pickled object and each storage is the STORED record `<root>/data/<key>`, read in place.
 */
export async function openTorchZip(handle: FileHandle, fileSize: number, path: string, signal?: AbortSignal, opts: TorchPickleOptions = {}): Promise<Omit<Checkpoint, 'files'>> {
  const zip = await readZipDirectory(handle, fileSize, path, signal);
  const first = zip.entries[0];
  const slash = first ? first.name.indexOf('/') : -1;
  if (!first || slash <= 0) {
    throw new ModeldiffError('FORMAT_UNKNOWN', 'is a zip archive but not a PyTorch checkpoint (its entries are not inside one folder)', { file: path });
  }
  const root = first.name.slice(0, slash + 1);
  for (const e of zip.entries) {
    if (!e.name.startsWith(root)) {
      throw new ModeldiffError('ZIP_INVALID', `the zip archive is malformed: the entry "${e.name}" is outside the checkpoint folder "${root}"`, { file: path });
    }
  }
  const record = (name: string): ZipEntry | undefined => zip.byName.get(root + name);
  if (record('constants.pkl') || record('model.json') || zip.entries.some((e) => e.name.startsWith(root + 'code/'))) {
    throw new ModeldiffError(
      'PT_UNSUPPORTED',
      'is a TorchScript archive (saved with torch.jit.save), not a checkpoint: it holds a program, not just weights; save its state_dict with torch.save or convert it to safetensors',
      { file: path },
    );
  }
  const pkl = record('data.pkl');
  if (!pkl) throw new ModeldiffError('FORMAT_UNKNOWN', 'is a zip archive without data.pkl, not a PyTorch checkpoint', { file: path });

  const versionEntry = record('version') ?? record('.data/version');
  if (!versionEntry) throw new ModeldiffError('PT_INVALID', 'the checkpoint has no version record: it is damaged or was not written by torch.save', { file: path });
  const versionText = new TextDecoder().decode(await readStoredRecord(handle, versionEntry, path, 64)).trim();
  if (!/^[0-9]{1,6}$/.test(versionText) || Number(versionText) < 1) {
    throw new ModeldiffError('PT_INVALID', `the checkpoint's version record says ${JSON.stringify(versionText.slice(0, 20))}, not a format number`, { file: path });
  }

  let byteOrder: 'little' | 'big' = 'little';
  const order = record('byteorder');
  if (order) {
    const text = new TextDecoder().decode(await readStoredRecord(handle, order, path, 64));
    if (text !== 'little' && text !== 'big') {
      throw new ModeldiffError('PT_INVALID', `the checkpoint's byteorder record says ${JSON.stringify(text.slice(0, 20))}, not "little" or "big"`, { file: path });
    }
    byteOrder = text;
  }

  throwIfAborted(signal);
  const pickle = await readStoredRecord(handle, pkl, path, MAX_PICKLE_BYTES);
  throwIfAborted(signal);

  const storages = new Map<string, { storage: StorageValue; entry: ZipEntry }>();
  const persistentLoad = (pid: PickleValue): PickleValue => {
    const { storage } = parseStoragePid(pid, false);
    const known = storages.get(storage.key);
    if (known) {
      if (known.storage.typeName !== storage.typeName || known.storage.numel !== storage.numel) {
        throw new ModeldiffError(
          'PT_INVALID',
          `the checkpoint is malformed: storage "${storage.key}" is used as ${known.storage.typeName} of ${known.storage.numel} and as ${storage.typeName} of ${storage.numel}`,
        );
      }
      return known.storage;
    }
    const entry = record(`data/${storage.key}`);
    if (!entry) throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: storage "${storage.key}" has no data record`);
    checkStored(entry, path);
    const nbytes = storage.numel * (storage.untyped ? 1 : bytesPerElement(storage.dtype)!);
    if (nbytes !== entry.uncompressedSize) {
      throw new ModeldiffError(
        'PT_INVALID',
        `the checkpoint is malformed: storage "${storage.key}" (${storage.numel} × ${storage.typeName}) needs ${nbytes} bytes but its record has ${entry.uncompressedSize}`,
      );
    }
    storages.set(storage.key, { storage, entry });
    return storage;
  };
  const { value, end } = unpickle(pickle, 0, torchPickleHooks(persistentLoad, opts));
  const state = extractStateDict(value);

  const notes = [...state.notes];
  const ignored = opts.extractWeights ? ignoredObjectsNote(value) : undefined;
  if (ignored) notes.push(ignored);
  if (end < pickle.length) notes.push(`data.pkl has ${pickle.length - end} bytes after its end; they were ignored`);
  const tensors = state.tensors.map((t) => tensorRef(t, path, storages.get(t.value.storage.key)!.entry.dataStart, byteOrder));
  checkViewsCost(tensors, fileSize, path);
  const alias = aliasingNote(state.tensors);
  if (alias) notes.push(alias);
  const unreferenced = zip.entries.filter((e) => e.name.startsWith(root + 'data/') && !storages.has(e.name.slice(root.length + 5)));
  if (unreferenced.length) notes.push(`${unreferenced.length} data records are not used by any tensor (first: "${unreferenced[0]!.name}")`);
  const unknown = zip.entries.filter((e) => {
    const rel = e.name.slice(root.length);
    return rel !== 'data.pkl' && !rel.startsWith('data/') && !KNOWN_RECORDS.has(rel) && !rel.endsWith('/');
  });
  if (unknown.length) notes.push(`${unknown.length} other records were not read (first: "${unknown[0]!.name}")`);
  if (byteOrder === 'big') notes.push('tensors are stored big-endian and are byte-swapped when read');
  return { path, format: 'pytorch-zip', sizeBytes: fileSize, tensors, metadata: state.metadata, notes, naming: 'ldm' };
}
