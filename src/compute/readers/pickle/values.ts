import type { DType } from '../../model/dtypes';

/**
 * Every value the restricted unpickler can produce: a closed, inert union. Nothing in it is callable and no value
 * is ever turned into a plain object, so keys such as `__proto__` are just data.
 */
export type PickleValue =
  | { kind: 'none' }
  | { kind: 'bool'; value: boolean }
  /** Python int: a number when it is a safe integer, a bigint otherwise. */
  | { kind: 'int'; value: number | bigint }
  | { kind: 'float'; value: number }
  | { kind: 'complex'; re: number; im: number }
  | { kind: 'str'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'tuple'; items: PickleValue[] }
  | { kind: 'list'; items: PickleValue[] }
  | PickleDict
  | { kind: 'set'; items: Map<string, PickleValue>; frozen: boolean }
  /** A name admitted by the allow-list (a dtype, a storage class, a rebuild function...), never resolved to code. */
  | { kind: 'global'; module: string; name: string }
  | { kind: 'device'; type: string; index: number | null }
  | OpaqueValue
  | StorageValue
  | TensorValue;

export interface PickleDict {
  kind: 'dict';
  /** canonical key (see canonicalKey) -> [key, value]; insertion ordered like a Python dict. */
  entries: Map<string, [PickleValue, PickleValue]>;
  ordered: boolean;
}

/**
 * An object of a class that extract-weights mode admits as inert (a Lightning callback, argparse.Namespace...): the
 * class was never imported or called; its constructor arguments and BUILD state are kept as data, and nothing reads
 * them as weights.
 */
export interface OpaqueValue {
  kind: 'opaque';
  module: string;
  name: string;
  args: PickleValue[];
  /** The last BUILD state, if any. */
  state: PickleValue | undefined;
}

/** A storage named by a persistent id: where its bytes are is for the container format to say. */
export interface StorageValue {
  kind: 'storage';
  key: string;
  /** Element type of the storage class; U8 for an untyped storage (then `numel` counts bytes). */
  dtype: DType;
  untyped: boolean;
  /** The storage class as pickled, for messages (`torch.FloatStorage`). */
  typeName: string;
  numel: number;
  location: string;
  /** Legacy view storages: the element range of the root storage this storage covers. */
  view?: { offset: number; numel: number };
}

/** A dense tensor: a view of a storage. Offsets and strides count elements of `dtype`. */
export interface TensorValue {
  kind: 'tensor';
  storage: StorageValue;
  dtype: DType;
  offset: number;
  shape: number[];
  strides: number[];
}

export const NONE: PickleValue = Object.freeze({ kind: 'none' });

export function kindOf(v: PickleValue): string {
  switch (v.kind) {
    case 'none':
      return 'None';
    case 'bool':
      return 'a bool';
    case 'int':
      return 'an int';
    case 'float':
      return 'a float';
    case 'complex':
      return 'a complex number';
    case 'str':
      return 'a string';
    case 'bytes':
      return 'bytes';
    case 'tuple':
      return `a tuple of ${v.items.length}`;
    case 'list':
      return `a list of ${v.items.length}`;
    case 'dict':
      return `a dict of ${v.entries.size}`;
    case 'set':
      return `a set of ${v.items.size}`;
    case 'global':
      return `${v.module}.${v.name}`;
    case 'device':
      return 'a device';
    case 'opaque':
      return `${/^[aeiou]/i.test(v.module) ? 'an' : 'a'} ${v.module}.${v.name} object`;
    case 'storage':
      return 'a storage';
    case 'tensor':
      return 'a tensor';
  }
}

export function dictGet(d: PickleDict, key: string): PickleValue | undefined {
  return d.entries.get(strKey(key))?.[1];
}

export function strKey(s: string): string {
  return 's' + s;
}

/** Longest canonical key; a key made of a tuple that repeats a memoised tuple could otherwise double per level. */
const MAX_KEY_LENGTH = 1 << 20;
const MAX_KEY_DEPTH = 64;

/**
 * A string that is equal for two values exactly when Python would treat them as the same dict key (True == 1 == 1.0,
 * but 1 != "1" != b"1"). Unhashable values (list, dict, set) are refused as Python refuses them.
 * Returns undefined with a reason through `fail` when the value cannot be a key.
 */
export function canonicalKey(v: PickleValue, fail: (problem: string, limit: boolean) => never): string {
  let length = 0;
  const walk = (x: PickleValue, depth: number): string => {
    if (depth > MAX_KEY_DEPTH) fail(`a dict key nests tuples more than ${MAX_KEY_DEPTH} deep`, true);
    let s: string;
    switch (x.kind) {
      case 'none':
        s = 'n';
        break;
      case 'bool':
        s = x.value ? 'i1' : 'i0';
        break;
      case 'int':
        s = 'i' + String(x.value);
        break;
      case 'float':
        s = Number.isSafeInteger(x.value) ? 'i' + String(x.value === 0 ? 0 : x.value) : 'f' + String(x.value);
        break;
      case 'complex':
        s = x.im === 0 ? walk({ kind: 'float', value: x.re }, depth) : `c${x.re},${x.im}`;
        break;
      case 'str':
        s = strKey(x.value);
        break;
      case 'bytes':
        s = 'b' + Buffer.from(x.value.buffer, x.value.byteOffset, x.value.byteLength).toString('latin1');
        break;
      case 'tuple': {
        const parts = x.items.map((i) => walk(i, depth + 1));
        s = 't' + parts.map((p) => `${p.length}:${p}`).join('');
        break;
      }
      case 'set':
        if (!x.frozen) fail('a dict key is a set, which Python cannot use as a key', false);
        s = 'F' + [...x.items.keys()].sort().map((p) => `${p.length}:${p}`).join('');
        break;
      case 'global':
        s = `g${x.module}:${x.name}`;
        break;
      case 'device':
        s = `d${x.type}:${x.index ?? ''}`;
        break;
      default:
        return fail(`a dict key is ${kindOf(x)}, which this reader does not accept as a key`, false);
    }
    length += s.length;
    if (length > MAX_KEY_LENGTH) fail('a dict key is larger than 1 MiB', true);
    return s;
  };
  return walk(v, 0);
}
