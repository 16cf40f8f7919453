import { ModeldiffError } from '../../../shared/errors';
import type { OpaqueValue, PickleValue } from '../pickle/values';

/**
 * Extract-weights mode (research note §2.6, P29, C2): a few names that real Stable Diffusion `.ckpt` files pickle
 * beside their weights are admitted as inert data instead of refusing the file. They are never imported or called:
 * a reference stays a `global` value, and REDUCE/NEWOBJ/BUILD on one give an `opaque` object holding its arguments.
 * Only numpy scalars of a plain numeric dtype are decoded, into the number they hold. Everything else on the
 * default allow-list's outside stays refused in this mode too.
 */
const INERT_GLOBALS = new Set([
  // Lightning < 1.5 keys `callbacks` by the callback class (the CompVis SD 1.x checkpoints).
  'pytorch_lightning.callbacks.model_checkpoint\u0000ModelCheckpoint',
  // numpy scalars, e.g. a best score: scalar(dtype('f8', False, True) + BUILD state, raw bytes).
  'numpy\u0000dtype',
  'numpy.core.multiarray\u0000scalar',
  'numpy._core.multiarray\u0000scalar',
  // hyper-parameters saved as a Namespace (NEWOBJ + BUILD with a dict of plain values)
  'argparse\u0000Namespace',
]);

export function isInertGlobal(module: string, name: string): boolean {
  return INERT_GLOBALS.has(`${module}\u0000${name}`);
}

/** The refusal of an inert name in the default mode; the opener uses `details.extractable` to say how to opt in. */
export function inertGlobalRefused(module: string, name: string): ModeldiffError {
  return new ModeldiffError('PT_UNSAFE_GLOBAL', `refuses to load: the pickle imports ${module}.${name}, which could run code`, {
    details: { global: `${module}.${name}`, extractable: true },
  });
}

export function isExtractableRefusal(e: unknown): e is ModeldiffError {
  return e instanceof ModeldiffError && e.code === 'PT_UNSAFE_GLOBAL' && e.details?.extractable === true;
}

/** What the default-mode refusal says when extract-weights mode reads the same file. */
export function extractWeightsHint(refused: ModeldiffError): ModeldiffError {
  return new ModeldiffError(
    'PT_UNSAFE_GLOBAL',
    `${refused.message}; nothing else stops it, and extract-weights mode keeps such objects as inert data: pass --extract-weights (CLI) or set modeldiff.compare.extractWeights (VS Code) to compare its weights`,
    { details: { ...refused.details, hint: 'extract-weights' }, file: refused.file },
  );
}

/** `cls(*args)` or `cls.__new__(cls, *args)` on an inert name: a numpy scalar's number when simple, else an opaque object. */
export function inertObject(module: string, name: string, args: PickleValue[]): PickleValue {
  if (name === 'scalar') {
    const decoded = numpyScalar(args);
    if (decoded) return decoded;
  }
  return { kind: 'opaque', module, name, args, state: undefined };
}

/** numpy `dtype.str` codes decoded here, little-endian or single byte. */
const SCALAR_CODES: Record<string, { bytes: number; read: (v: DataView) => PickleValue }> = {
  f8: { bytes: 8, read: (v) => ({ kind: 'float', value: v.getFloat64(0, true) }) },
  f4: { bytes: 4, read: (v) => ({ kind: 'float', value: v.getFloat32(0, true) }) },
  i8: { bytes: 8, read: (v) => int(v.getBigInt64(0, true)) },
  i4: { bytes: 4, read: (v) => int(v.getInt32(0, true)) },
  i2: { bytes: 2, read: (v) => int(v.getInt16(0, true)) },
  i1: { bytes: 1, read: (v) => int(v.getInt8(0)) },
  u8: { bytes: 8, read: (v) => int(v.getBigUint64(0, true)) },
  u4: { bytes: 4, read: (v) => int(v.getUint32(0, true)) },
  u2: { bytes: 2, read: (v) => int(v.getUint16(0, true)) },
  u1: { bytes: 1, read: (v) => int(v.getUint8(0)) },
  b1: { bytes: 1, read: (v) => ({ kind: 'bool', value: v.getUint8(0) !== 0 }) },
};

function int(v: number | bigint): PickleValue {
  if (typeof v === 'number') return { kind: 'int', value: v };
  const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
  return { kind: 'int', value: safe ? Number(v) : v };
}

/** `scalar(dtype, raw)` where dtype is `numpy.dtype(code, False, True)` with a plain little-endian BUILD state. */
function numpyScalar(args: PickleValue[]): PickleValue | undefined {
  const [dtype, raw] = args;
  if (args.length !== 2 || dtype?.kind !== 'opaque' || dtype.module !== 'numpy' || dtype.name !== 'dtype' || raw?.kind !== 'bytes') return undefined;
  const code = dtype.args[0];
  const spec = code?.kind === 'str' ? SCALAR_CODES[code.value] : undefined;
  if (!spec || raw.value.length !== spec.bytes || !plainDtypeState(dtype)) return undefined;
  return spec.read(new DataView(raw.value.buffer, raw.value.byteOffset, raw.value.byteLength));
}

/** dtype state `(version, byteorder, subarray, names, fields, ...)`: little-endian or not applicable, no structure. */
function plainDtypeState(dtype: OpaqueValue): boolean {
  const s = dtype.state;
  if (s === undefined) return true;
  if (s.kind !== 'tuple' || s.items.length < 5) return false;
  const [, order, subarray, names, fields] = s.items;
  return order?.kind === 'str' && (order.value === '<' || order.value === '|') && subarray?.kind === 'none' && names?.kind === 'none' && fields?.kind === 'none';
}

/** The note listing what extract-weights mode left out, or undefined when the checkpoint holds none of it. */
export function ignoredObjectsNote(root: PickleValue): string | undefined {
  const counts = countInert(root);
  if (counts.size === 0) return undefined;
  const list = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, n]) => `${name} (x${n})`).join(', ');
  return `ignored pickled objects: ${list}; kept as inert data by extract-weights mode, never run`;
}

/**
 * Inert class references and opaque objects reachable from `root`, by name. Iterative and aware of shared values
 * (the memo makes the value a DAG, and nesting can be as deep as the stack limit).
 */
function countInert(root: PickleValue): Map<string, number> {
  const counts = new Map<string, number>();
  const seen = new Set<PickleValue>();
  const todo: PickleValue[] = [root];
  while (todo.length) {
    const v = todo.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    switch (v.kind) {
      case 'global':
        if (isInertGlobal(v.module, v.name)) bump(counts, `${v.module}.${v.name}`);
        break;
      case 'opaque':
        bump(counts, `${v.module}.${v.name}`);
        for (const a of v.args) todo.push(a);
        if (v.state) todo.push(v.state);
        break;
      case 'tuple':
      case 'list':
        for (const i of v.items) todo.push(i);
        break;
      case 'dict':
        for (const [k, x] of v.entries.values()) todo.push(k, x);
        break;
      case 'set':
        for (const i of v.items.values()) todo.push(i);
        break;
      default:
        break;
    }
  }
  return counts;
}

function bump(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}
