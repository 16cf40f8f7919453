import { bytesPerElement, type DType } from '../../model/dtypes';
import { ModeldiffError } from '../../../shared/errors';
import { inertGlobalRefused, inertObject, isInertGlobal } from './extractWeights';
import type { PickleHooks } from '../pickle/unpickler';
import { canonicalKey, kindOf, NONE, type PickleDict, type PickleValue, type StorageValue, type TensorValue } from '../pickle/values';

/**
 * The allow-list of a PyTorch checkpoint pickle and the interpretation of each admitted name, after
 * `torch/_weights_only_unpickler.py`: rebuild functions are re-implemented here on inert values with strict
 * argument checks; everything else is refused when its GLOBAL is read.
 */

type Role =
  | { role: 'function'; fn: FunctionName }
  | { role: 'class'; cls: 'OrderedDict' | 'set' | 'frozenset' | 'bytearray' | 'complex' | 'Size' | 'device' | 'Tensor' | 'Parameter' }
  | { role: 'storage'; dtype: DType | undefined; untyped: boolean }
  | { role: 'dtype'; dtype: DType | undefined };

type FunctionName = 'rebuild_tensor_v2' | 'rebuild_tensor_v3' | 'rebuild_tensor' | 'rebuild_parameter' | 'rebuild_parameter_with_state' | 'rebuild_from_type_v2' | 'codecs_encode';

/** Legacy storage classes (`torch/storage.py` `_dtype_to_storage_type_map`). Undefined: known but not comparable. */
const STORAGE_CLASSES: Record<string, DType | undefined> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  ComplexFloatStorage: 'C64',
  ComplexDoubleStorage: undefined,
  QInt8Storage: undefined,
  QUInt8Storage: undefined,
  QInt32Storage: undefined,
  QUInt4x2Storage: undefined,
  QUInt2x4Storage: undefined,
};

/** `torch.<dtype>` globals. Undefined: a real torch dtype this tool cannot compare. */
const DTYPE_GLOBALS: Record<string, DType | undefined> = {
  float64: 'F64',
  double: 'F64',
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  uint16: 'U16',
  uint32: 'U32',
  uint64: 'U64',
  bool: 'BOOL',
  complex64: 'C64',
  cfloat: 'C64',
  float8_e5m2: 'F8_E5M2',
  float8_e4m3fn: 'F8_E4M3',
  float8_e5m2fnuz: 'F8_E5M2FNUZ',
  float8_e4m3fnuz: 'F8_E4M3FNUZ',
  float8_e8m0fnu: 'F8_E8M0',
  complex128: undefined,
  cdouble: undefined,
  complex32: undefined,
  chalf: undefined,
  qint8: undefined,
  quint8: undefined,
  qint32: undefined,
  quint4x2: undefined,
  quint2x4: undefined,
  bits1x8: undefined,
  bits2x4: undefined,
  bits4x2: undefined,
  bits8: undefined,
  bits16: undefined,
  float4_e2m1fn_x2: undefined,
  ...Object.fromEntries([1, 2, 3, 4, 5, 6, 7].flatMap((n) => [[`uint${n}`, undefined], [`int${n}`, undefined]])),
};

const ALLOWED = new Map<string, Role>();
const allow = (module: string, name: string, role: Role) => ALLOWED.set(`${module}\u0000${name}`, role);
allow('collections', 'OrderedDict', { role: 'class', cls: 'OrderedDict' });
allow('builtins', 'set', { role: 'class', cls: 'set' });
allow('builtins', 'frozenset', { role: 'class', cls: 'frozenset' });
allow('builtins', 'bytearray', { role: 'class', cls: 'bytearray' });
allow('builtins', 'complex', { role: 'class', cls: 'complex' });
allow('_codecs', 'encode', { role: 'function', fn: 'codecs_encode' });
allow('torch', 'Size', { role: 'class', cls: 'Size' });
allow('torch', 'device', { role: 'class', cls: 'device' });
allow('torch', 'Tensor', { role: 'class', cls: 'Tensor' });
allow('torch._tensor', 'Tensor', { role: 'class', cls: 'Tensor' });
allow('torch.nn.parameter', 'Parameter', { role: 'class', cls: 'Parameter' });
allow('torch._utils', '_rebuild_tensor_v2', { role: 'function', fn: 'rebuild_tensor_v2' });
allow('torch._utils', '_rebuild_tensor_v3', { role: 'function', fn: 'rebuild_tensor_v3' });
allow('torch._utils', '_rebuild_tensor', { role: 'function', fn: 'rebuild_tensor' });
allow('torch._utils', '_rebuild_parameter', { role: 'function', fn: 'rebuild_parameter' });
allow('torch._utils', '_rebuild_parameter_with_state', { role: 'function', fn: 'rebuild_parameter_with_state' });
allow('torch._tensor', '_rebuild_from_type_v2', { role: 'function', fn: 'rebuild_from_type_v2' });
for (const [name, dtype] of Object.entries(STORAGE_CLASSES)) allow('torch', name, { role: 'storage', dtype, untyped: false });
allow('torch', 'UntypedStorage', { role: 'storage', dtype: 'U8', untyped: true });
for (const [name, dtype] of Object.entries(DTYPE_GLOBALS)) allow('torch', name, { role: 'dtype', dtype });

export const MAX_NDIM = 64;

function roleOf(v: PickleValue): Role | undefined {
  return v.kind === 'global' ? ALLOWED.get(`${v.module}\u0000${v.name}`) : undefined;
}

function nameOf(v: PickleValue): string {
  return v.kind === 'global' ? `${v.module}.${v.name}` : kindOf(v);
}

/** Whether `module.name` is admitted; exact pair match only, so dotted attribute chains never match. */
export function isAllowedGlobal(module: string, name: string): boolean {
  return ALLOWED.has(`${module}\u0000${name}`);
}

function invalid(problem: string): never {
  throw new ModeldiffError('PT_INVALID', `the checkpoint is malformed: ${problem}`);
}

function unsupported(problem: string): never {
  throw new ModeldiffError('PT_UNSUPPORTED', `refuses to load: ${problem}`);
}

export interface TorchPickleOptions {
  /** Admit the inert names of extract-weights mode (extractWeights.ts) as data; default: refuse them like any other. */
  extractWeights?: boolean;
}

/** Hooks for a checkpoint pickle; `persistentLoad` resolves storage ids for the container (zip or legacy). */
export function torchPickleHooks(persistentLoad: (pid: PickleValue) => PickleValue, opts: TorchPickleOptions = {}): PickleHooks {
  const extract = opts.extractWeights === true;
  /** An inert class reference, which only extract-weights mode lets onto the stack. */
  const inert = (v: PickleValue): v is Extract<PickleValue, { kind: 'global' }> => extract && v.kind === 'global' && isInertGlobal(v.module, v.name);
  return {
    findGlobal(module, name) {
      if (!isAllowedGlobal(module, name)) {
        if (isInertGlobal(module, name)) {
          if (extract) return { kind: 'global', module, name };
          throw inertGlobalRefused(module, name);
        }
        throw new ModeldiffError('PT_UNSAFE_GLOBAL', `refuses to load: the pickle imports ${module}.${name}, which could run code`, {
          details: { global: `${module}.${name}` },
        });
      }
      return { kind: 'global', module, name };
    },
    reduce(callable, args) {
      const role = roleOf(callable);
      if (role?.role === 'function') return callFunction(role.fn, args);
      if (role?.role === 'class') return construct(role.cls, args);
      if (inert(callable)) return inertObject(callable.module, callable.name, args);
      return unsupported(`the pickle calls ${nameOf(callable)}, which is not a function`);
    },
    newObject(cls, args) {
      const role = roleOf(cls);
      if (role?.role === 'class' && (role.cls === 'OrderedDict' || role.cls === 'set' || role.cls === 'frozenset') && args.length === 0) {
        return construct(role.cls, args);
      }
      if (inert(cls)) return inertObject(cls.module, cls.name, args);
      return unsupported(`the pickle creates an object of ${nameOf(cls)} with NEWOBJ, which this reader does not support`);
    },
    build(target, state) {
      if (target.kind === 'opaque') {
        // __setstate__ of an object that is never instantiated: the state is only kept as data.
        target.state = state;
        return;
      }
      if (target.kind === 'dict') {
        // OrderedDict attributes (`_metadata` of a state_dict): plain data, kept apart from the items and ignored.
        const ok = state.kind === 'dict' || state.kind === 'none' || (state.kind === 'tuple' && state.items.length === 2 && state.items.every((s) => s.kind === 'dict' || s.kind === 'none'));
        if (!ok) invalid(`BUILD gives a dict the state ${kindOf(state)}`);
        return;
      }
      if (target.kind === 'tensor') unsupported('the pickle sets the state of a tensor after building it, which this reader does not support');
      invalid(`BUILD sets the state of ${kindOf(target)}`);
    },
    persistentLoad,
  };
}

function arity(fn: string, args: PickleValue[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    invalid(`${fn} gets ${args.length} arguments instead of ${min === max ? min : `${min} to ${max}`}`);
  }
}

function callFunction(fn: FunctionName, args: PickleValue[]): PickleValue {
  switch (fn) {
    case 'rebuild_tensor_v2':
      arity('_rebuild_tensor_v2', args, 6, 7);
      checkMetadata(args[6]);
      return rebuildTensor(args[0]!, args[1]!, args[2]!, args[3]!, undefined);
    case 'rebuild_tensor_v3':
      arity('_rebuild_tensor_v3', args, 7, 8);
      checkMetadata(args[7]);
      return rebuildTensor(args[0]!, args[1]!, args[2]!, args[3]!, args[6]!);
    case 'rebuild_tensor':
      arity('_rebuild_tensor', args, 4);
      return rebuildTensor(args[0]!, args[1]!, args[2]!, args[3]!, undefined);
    case 'rebuild_parameter':
    case 'rebuild_parameter_with_state': {
      arity(fn === 'rebuild_parameter' ? '_rebuild_parameter' : '_rebuild_parameter_with_state', args, fn === 'rebuild_parameter' ? 3 : 4);
      const data = args[0]!;
      if (data.kind !== 'tensor') invalid(`a Parameter wraps ${kindOf(data)}, not a tensor`);
      // requires_grad, hooks and any Python state are training-time details, never applied.
      return data;
    }
    case 'rebuild_from_type_v2': {
      arity('_rebuild_from_type_v2', args, 4);
      const [func, type, inner] = args as [PickleValue, PickleValue, PickleValue];
      const funcRole = roleOf(func);
      const typeRole = roleOf(type);
      if (funcRole?.role !== 'function' || funcRole.fn === 'rebuild_from_type_v2' || funcRole.fn === 'codecs_encode') {
        invalid(`_rebuild_from_type_v2 wraps ${nameOf(func)}, not a tensor rebuild function`);
      }
      if (typeRole?.role !== 'class' || (typeRole.cls !== 'Tensor' && typeRole.cls !== 'Parameter')) {
        unsupported(`the pickle rebuilds a tensor as ${nameOf(type)}, a subclass this reader does not support`);
      }
      if (inner.kind !== 'tuple') invalid(`_rebuild_from_type_v2 gets ${kindOf(inner)} as arguments, not a tuple`);
      return callFunction(funcRole.fn, inner.items);
    }
    case 'codecs_encode': {
      arity('_codecs.encode', args, 2);
      const [text, encoding] = args as [PickleValue, PickleValue];
      if (text.kind !== 'str' || encoding.kind !== 'str' || (encoding.value !== 'latin1' && encoding.value !== 'latin-1')) {
        unsupported(`the pickle calls _codecs.encode with ${kindOf(text)} and ${encoding.kind === 'str' ? `"${encoding.value}"` : kindOf(encoding)}; only latin1-encoded bytes are read`);
      }
      const out = new Uint8Array(text.value.length);
      for (let i = 0; i < text.value.length; i++) {
        const c = text.value.charCodeAt(i);
        if (c > 0xff) invalid('_codecs.encode gets a character outside latin1');
        out[i] = c;
      }
      return { kind: 'bytes', value: out };
    }
  }
}

function construct(cls: Extract<Role, { role: 'class' }>['cls'], args: PickleValue[]): PickleValue {
  switch (cls) {
    case 'OrderedDict': {
      arity('OrderedDict', args, 0, 1);
      const dict: PickleDict = { kind: 'dict', entries: new Map(), ordered: true };
      if (args.length === 1) {
        const pairs = args[0]!;
        if (pairs.kind !== 'list' && pairs.kind !== 'tuple') invalid(`OrderedDict gets ${kindOf(pairs)}, not a list of pairs`);
        for (const pair of pairs.items) {
          if ((pair.kind !== 'tuple' && pair.kind !== 'list') || pair.items.length !== 2) invalid(`OrderedDict gets ${kindOf(pair)} where a (key, value) pair belongs`);
          const [k, v] = pair.items as [PickleValue, PickleValue];
          const ck = canonicalKey(k, (problem) => invalid(problem));
          const existing = dict.entries.get(ck);
          if (existing) existing[1] = v;
          else dict.entries.set(ck, [k, v]);
        }
      }
      return dict;
    }
    case 'set':
    case 'frozenset': {
      arity(cls, args, 0, 1);
      const items = new Map<string, PickleValue>();
      if (args.length === 1) {
        const src = args[0]!;
        const values = src.kind === 'list' || src.kind === 'tuple' ? src.items : src.kind === 'set' ? [...src.items.values()] : invalid(`${cls} gets ${kindOf(src)}, not a list`);
        for (const v of values) items.set(canonicalKey(v, (problem) => invalid(problem)), v);
      }
      return { kind: 'set', items, frozen: cls === 'frozenset' };
    }
    case 'bytearray': {
      arity('bytearray', args, 0, 1);
      if (args.length === 0) return { kind: 'bytes', value: new Uint8Array(0) };
      const src = args[0]!;
      if (src.kind !== 'bytes') invalid(`bytearray gets ${kindOf(src)}, not bytes`);
      return src;
    }
    case 'complex': {
      arity('complex', args, 1, 2);
      const part = (v: PickleValue | undefined): number => {
        if (v === undefined) return 0;
        if (v.kind === 'float') return v.value;
        if (v.kind === 'int') return Number(v.value);
        return invalid(`complex gets ${kindOf(v)}, not a number`);
      };
      return { kind: 'complex', re: part(args[0]), im: part(args[1]) };
    }
    case 'Size': {
      arity('torch.Size', args, 0, 1);
      if (args.length === 0) return { kind: 'tuple', items: [] };
      const dims = args[0]!;
      if (dims.kind !== 'tuple' && dims.kind !== 'list') invalid(`torch.Size gets ${kindOf(dims)}, not a tuple`);
      dimensions(dims, 'torch.Size');
      return { kind: 'tuple', items: dims.items };
    }
    case 'device': {
      arity('torch.device', args, 1, 2);
      const [type, index] = args as [PickleValue, PickleValue | undefined];
      if (type.kind !== 'str' || type.value.length > 64) invalid(`torch.device gets ${kindOf(type)}, not a device name`);
      let i: number | null = null;
      if (index !== undefined && index.kind !== 'none') {
        if (index.kind !== 'int' || typeof index.value !== 'number' || index.value < 0) invalid(`torch.device gets ${kindOf(index)} as an index`);
        i = index.value;
      }
      return { kind: 'device', type: type.value, index: i };
    }
    case 'Tensor':
    case 'Parameter':
      return unsupported(`the pickle calls torch.${cls} directly, which this reader does not support`);
  }
}

function checkMetadata(metadata: PickleValue | undefined): void {
  if (metadata === undefined || metadata.kind === 'none') return;
  if (metadata.kind !== 'dict') invalid(`tensor metadata is ${kindOf(metadata)}, not a dict`);
  for (const [, [key, value]] of metadata.entries) {
    // Conjugate/negative bits change what the stored bytes mean; a plain False bit does not.
    if (value.kind === 'bool' && !value.value) continue;
    unsupported(`a tensor carries the metadata ${key.kind === 'str' ? key.value : kindOf(key)}, which changes how its bytes are read and is not supported`);
  }
}

/** Non-negative safe integers of a size or stride tuple. */
function dimensions(v: PickleValue, what: string): number[] {
  if (v.kind !== 'tuple' && v.kind !== 'list') return invalid(`the ${what} of a tensor is ${kindOf(v)}, not a tuple`);
  if (v.items.length > MAX_NDIM) invalid(`a tensor has ${v.items.length} dimensions, more than the ${MAX_NDIM} allowed`);
  return v.items.map((d) => {
    if (d.kind !== 'int' || typeof d.value !== 'number' || d.value < 0) invalid(`the ${what} of a tensor contains ${d.kind === 'int' ? String(d.value) : kindOf(d)}, not a non-negative integer`);
    return d.value;
  });
}

function rebuildTensor(storageV: PickleValue, offsetV: PickleValue, sizeV: PickleValue, strideV: PickleValue, dtypeV: PickleValue | undefined): TensorValue {
  if (storageV.kind !== 'storage') invalid(`a tensor is built on ${kindOf(storageV)}, not a storage`);
  const storage: StorageValue = storageV;
  let dtype = storage.dtype;
  if (dtypeV !== undefined) {
    const role = roleOf(dtypeV);
    if (role?.role !== 'dtype') invalid(`_rebuild_tensor_v3 gets ${nameOf(dtypeV)} as a dtype`);
    if (role.dtype === undefined) unsupported(`a tensor has dtype ${nameOf(dtypeV)}, which this tool cannot compare`);
    if (!storage.untyped && role.dtype !== storage.dtype) invalid(`a ${role.dtype} tensor is built on ${storage.typeName}`);
    dtype = role.dtype;
  }
  if (offsetV.kind !== 'int' || typeof offsetV.value !== 'number' || offsetV.value < 0) invalid(`a tensor has storage offset ${offsetV.kind === 'int' ? String(offsetV.value) : kindOf(offsetV)}`);
  const shape = dimensions(sizeV, 'size');
  const strides = dimensions(strideV, 'stride');
  if (shape.length !== strides.length) invalid(`a tensor has ${shape.length} sizes but ${strides.length} strides`);
  const offset = offsetV.value;

  const esize = bytesPerElement(dtype)!;
  const storageBytes = storage.numel * (storage.untyped ? 1 : bytesPerElement(storage.dtype)!);
  const capacity = BigInt(Math.floor(storageBytes / esize));
  let numel = 1n;
  let last = BigInt(offset);
  for (let d = 0; d < shape.length; d++) {
    numel *= BigInt(shape[d]!);
    last += BigInt(Math.max(shape[d]! - 1, 0)) * BigInt(strides[d]!);
  }
  if (numel > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`a tensor of shape [${shape.join(', ')}] is larger than any real file`);
  if (numel > 0n && last >= capacity) {
    invalid(`a tensor of shape [${shape.join(', ')}] at offset ${offset} reaches element ${last} of a storage that has ${capacity}`);
  }
  return { kind: 'tensor', storage, dtype, offset, shape, strides };
}

/**
 * `('storage', storage_type, key, location, numel[, view_metadata])`, the persistent id torch.save writes;
 * `legacy` admits the sixth field of the pre-1.6 stream.
 */
export function parseStoragePid(pid: PickleValue, legacy: boolean): { storage: StorageValue; view: PickleValue } {
  if (pid.kind !== 'tuple') invalid(`a persistent id is ${kindOf(pid)}, not a tuple`);
  const [tag, type, key, location, numel, view] = pid.items;
  if (tag?.kind !== 'str') invalid(`a persistent id starts with ${tag ? kindOf(tag) : 'nothing'}, not a name`);
  if (tag.value === 'module') unsupported('the file pickles a whole nn.Module, which can only be rebuilt by running its code');
  if (tag.value !== 'storage') invalid(`a persistent id names "${tag.value.slice(0, 40)}", not a storage`);
  const want = legacy ? 6 : 5;
  if (pid.items.length !== want) invalid(`a storage id has ${pid.items.length} fields instead of ${want}`);
  const role = roleOf(type!);
  if (role?.role !== 'storage') invalid(`a storage id names ${nameOf(type!)}, not a storage class`);
  if (role.dtype === undefined) unsupported(`a storage has type ${nameOf(type!)}, which this tool cannot compare`);
  if (key!.kind !== 'str' || key!.value.length === 0 || key!.value.length > 256) invalid(`a storage key is ${kindOf(key!)}, not a short string`);
  if (location!.kind !== 'str' || location!.value.length > 64) invalid(`a storage location is ${kindOf(location!)}, not a device name`);
  if (numel!.kind !== 'int' || typeof numel!.value !== 'number' || numel!.value < 0) {
    invalid(`storage "${key!.value}" has size ${numel!.kind === 'int' ? String(numel!.value) : kindOf(numel!)}, not a non-negative integer`);
  }
  const storage: StorageValue = {
    kind: 'storage',
    key: key!.value,
    dtype: role.dtype,
    untyped: role.untyped,
    typeName: nameOf(type!),
    numel: numel!.value,
    location: location!.value,
  };
  return { storage, view: view ?? NONE };
}
