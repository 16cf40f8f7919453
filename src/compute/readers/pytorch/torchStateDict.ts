import type { TensorRef } from '../../model/checkpoint';
import { bytesPerElement } from '../../model/dtypes';
import { ModeldiffError } from '../../../shared/errors';
import { isContiguous } from '../../io/tensorBytes';
import { kindOf, strKey, type PickleDict, type PickleValue, type TensorValue } from '../pickle/values';
import { checkClaimedBytes, checkTensorName, MAX_TENSORS_PER_MODEL, tooManyTensors } from '../../model/limits';

/** Names of skipped entries listed in a note before "and N more". */
const LISTED = 8;

export interface NamedTensor {
  name: string;
  value: TensorValue;
}

export interface StateDict {
  tensors: NamedTensor[];
  /** Scalars beside a Lightning `state_dict` (epoch, global_step...), as strings. */
  metadata: Record<string, string>;
  notes: string[];
}

/**
 * The tensors of an unpickled checkpoint. A dict whose `state_dict` entry is a dict holding tensors (Lightning, the
 * original SD `.ckpt`) is unwrapped once, and the scalars beside it become metadata; otherwise the top-level dict
 * is the state dict. Entries that are not tensors are listed in a note and skipped, never interpreted.
 */
export function extractStateDict(root: PickleValue): StateDict {
  if (root.kind !== 'dict') {
    throw new ModeldiffError('NOT_A_MODEL', `the checkpoint holds ${kindOf(root)}, not a dictionary of tensors`);
  }
  const metadata: Record<string, string> = Object.create(null);
  const notes: string[] = [];
  let container: PickleDict = root;
  const inner = root.entries.get(strKey('state_dict'))?.[1];
  if (inner?.kind === 'dict' && [...inner.entries.values()].some(([, v]) => v.kind === 'tensor')) {
    container = inner;
    const others: string[] = [];
    for (const [, [key, value]] of root.entries) {
      if (key.kind === 'str' && key.value === 'state_dict') continue;
      const label = keyLabel(key);
      const scalar = scalarText(value);
      if (scalar !== undefined && key.kind === 'str') metadata[key.value] = scalar;
      else others.push(`${label} (${kindOf(value)})`);
    }
    const shown = Object.keys(metadata);
    notes.push(
      `tensors read from the "state_dict" entry (Lightning-style checkpoint)` +
        (shown.length ? `; ${shown.join(', ')} shown as metadata` : '') +
        (others.length ? `; not compared: ${listed(others)}` : ''),
    );
  }

  const tensors: NamedTensor[] = [];
  const skipped: string[] = [];
  for (const [, [key, value]] of container.entries) {
    if (value.kind === 'tensor' && key.kind === 'str') {
      if (tensors.length >= MAX_TENSORS_PER_MODEL) throw tooManyTensors();
      checkTensorName(key.value);
      tensors.push({ name: key.value, value });
    } else {
      skipped.push(`${keyLabel(key)} (${kindOf(value)})`);
    }
  }
  if (skipped.length) notes.push(`${skipped.length} entr${skipped.length === 1 ? 'y is' : 'ies are'} not tensors and not compared: ${listed(skipped)}`);
  return { tensors, metadata, notes };
}

function listed(items: string[]): string {
  return items.length <= LISTED ? items.join(', ') : `${items.slice(0, LISTED).join(', ')} and ${items.length - LISTED} more`;
}

function keyLabel(key: PickleValue): string {
  if (key.kind === 'str') return JSON.stringify(key.value.length > 80 ? key.value.slice(0, 80) + '…' : key.value);
  return `a key that is ${kindOf(key)}`;
}

function scalarText(v: PickleValue): string | undefined {
  switch (v.kind) {
    case 'str':
      return v.value.length > 1000 ? v.value.slice(0, 1000) + '…' : v.value;
    case 'int':
      return String(v.value);
    case 'float':
      return String(v.value);
    case 'bool':
      return v.value ? 'True' : 'False';
    default:
      return undefined;
  }
}

/** The TensorRef of a tensor whose storage's first byte is at `storageStart` in `file`. */
export function tensorRef(t: NamedTensor, file: string, storageStart: number, byteOrder: 'little' | 'big'): TensorRef {
  const v = t.value;
  const esize = bytesPerElement(v.dtype)!;
  const numel = v.shape.reduce((a, b) => a * b, 1);
  const ref: TensorRef = {
    name: t.name,
    dtype: v.dtype,
    shape: v.shape,
    numel,
    file,
    offset: storageStart + v.offset * esize,
    byteLength: numel * esize,
  };
  if (numel > 0 && !isContiguous(v.shape, v.strides)) ref.strides = v.strides;
  if (byteOrder === 'big') ref.byteOrder = 'big';
  return ref;
}

/**
 * What reading the tensors would cost, against the bytes the file really holds: a view repeats stored bytes (a
 * zero-stride view of 2^51 elements over one number), and the engine's work follows the elements it iterates.
 */
export function checkViewsCost(tensors: TensorRef[], fileSize: number, path: string): void {
  checkClaimedBytes(tensors.reduce((s, t) => s + t.byteLength, 0), fileSize, path);
}

/** Tensors that share a storage with another tensor (tied weights, views, EMA copies made by assignment). */
export function aliasingNote(tensors: NamedTensor[]): string | undefined {
  const users = new Map<string, number>();
  for (const t of tensors) users.set(t.value.storage.key, (users.get(t.value.storage.key) ?? 0) + 1);
  let shared = 0;
  for (const n of users.values()) if (n > 1) shared += n;
  if (shared === 0) return undefined;
  return `${shared} tensors share their storage with another tensor (tied weights or views); each reads its own part of the same bytes`;
}
