import { ModeldiffError } from '../../../shared/errors';
import { OP, opcodeName } from './opcodes';
import { canonicalKey, kindOf, NONE, type PickleDict, type PickleValue } from './values';

/**
 * A restricted unpickler: a data-only stack machine over protocols 2-5. It interprets the opcodes a PyTorch
 * checkpoint needs and nothing else. Globals are decided by `hooks.findGlobal` when GLOBAL/STACK_GLOBAL is read;
 * REDUCE, NEWOBJ, BUILD and persistent ids are interpreted by the hooks on inert values. Nothing from the file is
 * ever called, and every size is checked against the input and the limits before anything is allocated.
 */

export interface PickleLimits {
  maxOpcodes: number;
  maxMemo: number;
  /** Open MARKs at once. */
  maxMarkDepth: number;
  /** Values on the stack at once. */
  maxStack: number;
  /** Items in one list, tuple, dict or set. */
  maxContainerItems: number;
  maxStringBytes: number;
  /** LONG1/LONG4 payload bytes. */
  maxLongBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxOpcodes: 10_000_000,
  maxMemo: 2_000_000,
  maxMarkDepth: 1000,
  maxStack: 1_000_000,
  maxContainerItems: 10_000_000,
  maxStringBytes: 64 * 1024 * 1024,
  maxLongBytes: 16,
};

export interface PickleHooks {
  /** Returns the inert value of an allowed global; throws for anything else. */
  findGlobal(module: string, name: string): PickleValue;
  /** REDUCE: `callable(*args)`, where callable is whatever findGlobal returned. */
  reduce(callable: PickleValue, args: PickleValue[]): PickleValue;
  /** NEWOBJ / NEWOBJ_EX without keyword arguments: `cls.__new__(cls, *args)`. */
  newObject(cls: PickleValue, args: PickleValue[]): PickleValue;
  /** BUILD: `target.__setstate__(state)`; may only validate, never mutate anything but inert data. */
  build(target: PickleValue, state: PickleValue): void;
  persistentLoad(pid: PickleValue): PickleValue;
}

export interface UnpickleOptions {
  limits?: Partial<PickleLimits>;
  /**
   * Bytes of the source from `start` on, when `bytes` holds only a prefix of it. Reading past the buffer
   * but within this length throws NeedMoreInput (the caller reads more and starts again); past it, the
   * pickle is truncated.
   */
  sourceLength?: number;
}

export interface UnpickleResult {
  value: PickleValue;
  /** Offset just after STOP. */
  end: number;
  protocol: number;
}

/** Thrown when the buffer ends before the pickle does but the source has more bytes. */
export class NeedMoreInput extends Error {
  constructor(readonly wanted: number) {
    super('more input needed');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_LINE = 1024;

/** Python 2 module names that pickle maps to their Python 3 names (`_compat_pickle.IMPORT_MAPPING`, the ones that matter). */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg', cPickle: 'pickle', exceptions: 'builtins' };

export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks, opts: UnpickleOptions = {}): UnpickleResult {
  return new Machine(bytes, start, hooks, opts).run();
}

class Machine {
  private pos: number;
  private readonly end: number;
  private readonly sourceEnd: number;
  private readonly limits: PickleLimits;
  private readonly view: DataView;
  private stack: PickleValue[] = [];
  private marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private protocol = 0;
  private opStart = 0;
  private op = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly hooks: PickleHooks,
    opts: UnpickleOptions,
  ) {
    this.pos = start;
    this.end = bytes.length;
    this.sourceEnd = start + (opts.sourceLength ?? bytes.length - start);
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): UnpickleResult {
    let count = 0;
    for (;;) {
      if (++count > this.limits.maxOpcodes) {
        this.limit(`the pickle has more than ${this.limits.maxOpcodes} opcodes`);
      }
      this.opStart = this.pos;
      this.need(1, 'an opcode');
      const op = (this.op = this.bytes[this.pos++]!);
      if (op === OP.STOP) return this.stop();
      this.step(op);
    }
  }

  private stop(): UnpickleResult {
    if (this.marks.length > 0) this.invalid('it ends with a MARK still open');
    if (this.stack.length === 0) this.invalid('it ends with nothing on the stack');
    if (this.stack.length > 1) this.invalid(`it ends with ${this.stack.length} values on the stack instead of one`);
    return { value: this.stack[0]!, end: this.pos, protocol: this.protocol };
  }

  private step(op: number): void {
    if (op === OP.PROTO) {
      const p = this.u8();
      if (this.opStart !== this.start) this.invalid('PROTO appears after the start of the pickle');
      if (p < 2 || p > 5) this.unsupported(`the pickle uses protocol ${p}; only protocols 2 to 5 are read`);
      this.protocol = p;
      return;
    }
    if (this.opStart === this.start) this.unsupported(`the pickle does not start with a protocol marker (first opcode ${opcodeName(op)}); only protocols 2 to 5 are read`);
    switch (op) {
      case OP.FRAME: {
        this.u64();
        return;
      }
      case OP.MARK:
        if (this.marks.length >= this.limits.maxMarkDepth) this.limit(`the pickle nests more than ${this.limits.maxMarkDepth} levels`);
        this.marks.push(this.stack.length);
        return;
      case OP.POP:
        this.pop();
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        this.push(this.top());
        return;
      case OP.NONE:
        this.push(NONE);
        return;
      case OP.NEWTRUE:
        this.push({ kind: 'bool', value: true });
        return;
      case OP.NEWFALSE:
        this.push({ kind: 'bool', value: false });
        return;
      case OP.BININT:
        this.need(4, 'BININT');
        this.pushInt(this.view.getInt32(this.pos, true));
        this.pos += 4;
        return;
      case OP.BININT1:
        this.pushInt(this.u8());
        return;
      case OP.BININT2:
        this.need(2, 'BININT2');
        this.pushInt(this.view.getUint16(this.pos, true));
        this.pos += 2;
        return;
      case OP.LONG1:
        this.pushLong(this.u8());
        return;
      case OP.LONG4: {
        this.need(4, 'LONG4');
        const n = this.view.getInt32(this.pos, true);
        this.pos += 4;
        if (n < 0) this.invalid(`LONG4 has a negative length (${n})`);
        this.pushLong(n);
        return;
      }
      case OP.BINFLOAT:
        this.need(8, 'BINFLOAT');
        this.push({ kind: 'float', value: this.view.getFloat64(this.pos, false) });
        this.pos += 8;
        return;
      case OP.SHORT_BINUNICODE:
        this.push({ kind: 'str', value: this.text(this.u8()) });
        return;
      case OP.BINUNICODE:
        this.push({ kind: 'str', value: this.text(this.u32()) });
        return;
      case OP.BINUNICODE8:
        this.push({ kind: 'str', value: this.text(this.u64()) });
        return;
      case OP.SHORT_BINSTRING:
        // Python 2 str; torch.load decodes these as UTF-8.
        this.push({ kind: 'str', value: this.text(this.u8()) });
        return;
      case OP.BINSTRING: {
        this.need(4, 'BINSTRING');
        const n = this.view.getInt32(this.pos, true);
        this.pos += 4;
        if (n < 0) this.invalid(`BINSTRING has a negative length (${n})`);
        this.push({ kind: 'str', value: this.text(n) });
        return;
      }
      case OP.SHORT_BINBYTES:
        this.push({ kind: 'bytes', value: this.blob(this.u8()) });
        return;
      case OP.BINBYTES:
        this.push({ kind: 'bytes', value: this.blob(this.u32()) });
        return;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        this.push({ kind: 'bytes', value: this.blob(this.u64()) });
        return;
      case OP.EMPTY_TUPLE:
        this.push({ kind: 'tuple', items: [] });
        return;
      case OP.TUPLE:
        this.push({ kind: 'tuple', items: this.popMark() });
        return;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        const items = new Array<PickleValue>(n);
        for (let i = n - 1; i >= 0; i--) items[i] = this.pop();
        this.push({ kind: 'tuple', items });
        return;
      }
      case OP.EMPTY_LIST:
        this.push({ kind: 'list', items: [] });
        return;
      case OP.LIST:
        this.push({ kind: 'list', items: this.popMark() });
        return;
      case OP.APPEND: {
        const value = this.pop();
        const list = this.top();
        if (list.kind !== 'list') this.invalid(`APPEND targets ${kindOf(list)}, not a list`);
        this.grow(list.items.length, 1);
        list.items.push(value);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        const list = this.top();
        if (list.kind !== 'list') this.invalid(`APPENDS targets ${kindOf(list)}, not a list`);
        this.grow(list.items.length, items.length);
        for (const v of items) list.items.push(v);
        return;
      }
      case OP.EMPTY_DICT:
        this.push(this.newDict(false));
        return;
      case OP.DICT: {
        const items = this.popMark();
        const dict = this.newDict(false);
        this.setItems(dict, items);
        this.push(dict);
        return;
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        const dict = this.top();
        if (dict.kind !== 'dict') this.invalid(`SETITEM targets ${kindOf(dict)}, not a dict`);
        this.setItems(dict, [key, value]);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        const dict = this.top();
        if (dict.kind !== 'dict') this.invalid(`SETITEMS targets ${kindOf(dict)}, not a dict`);
        if (items.length % 2 !== 0) this.invalid('SETITEMS has an odd number of items');
        this.setItems(dict, items);
        return;
      }
      case OP.EMPTY_SET:
        this.push({ kind: 'set', items: new Map(), frozen: false });
        return;
      case OP.ADDITEMS: {
        const items = this.popMark();
        const set = this.top();
        if (set.kind !== 'set' || set.frozen) this.invalid(`ADDITEMS targets ${kindOf(set)}, not a set`);
        this.addToSet(set.items, items);
        return;
      }
      case OP.FROZENSET: {
        const items = new Map<string, PickleValue>();
        this.addToSet(items, this.popMark());
        this.push({ kind: 'set', items, frozen: true });
        return;
      }
      case OP.GLOBAL: {
        const module = this.line('module');
        const name = this.line('name');
        this.push(this.global(module, name));
        return;
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (module.kind !== 'str' || name.kind !== 'str') this.invalid(`STACK_GLOBAL names ${kindOf(module)} and ${kindOf(name)}, not two strings`);
        this.push(this.global(module.value, name.value));
        return;
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        if (args.kind !== 'tuple') this.invalid(`REDUCE arguments are ${kindOf(args)}, not a tuple`);
        this.push(this.hooks.reduce(callable, args.items));
        return;
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        if (args.kind !== 'tuple') this.invalid(`NEWOBJ arguments are ${kindOf(args)}, not a tuple`);
        this.push(this.hooks.newObject(cls, args.items));
        return;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        if (args.kind !== 'tuple') this.invalid(`NEWOBJ_EX arguments are ${kindOf(args)}, not a tuple`);
        if (kwargs.kind !== 'dict' || kwargs.entries.size > 0) this.unsupported('NEWOBJ_EX passes keyword arguments, which this reader does not accept');
        this.push(this.hooks.newObject(cls, args.items));
        return;
      }
      case OP.BUILD: {
        const state = this.pop();
        this.hooks.build(this.top(), state);
        return;
      }
      case OP.BINPERSID:
        this.push(this.hooks.persistentLoad(this.pop()));
        return;
      case OP.BINGET:
        this.push(this.memoGet(this.u8()));
        return;
      case OP.LONG_BINGET:
        this.push(this.memoGet(this.u32()));
        return;
      case OP.BINPUT:
        this.memoPut(this.u8());
        return;
      case OP.LONG_BINPUT:
        this.memoPut(this.u32());
        return;
      case OP.MEMOIZE:
        this.memoPut(this.memo.size);
        return;
      case OP.INST:
      case OP.OBJ:
        return this.unsupported(`the pickle instantiates a class with ${opcodeName(op)}, which could run code`);
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4:
        return this.unsupported(`the pickle uses the extension registry (${opcodeName(op)}), which this reader does not support`);
      case OP.PERSID:
      case OP.INT:
      case OP.LONG:
      case OP.FLOAT:
      case OP.STRING:
      case OP.UNICODE:
      case OP.GET:
      case OP.PUT:
        return this.unsupported(`the pickle uses the text opcode ${opcodeName(op)} of protocol 0, which this reader does not support`);
      case OP.NEXT_BUFFER:
      case OP.READONLY_BUFFER:
        return this.unsupported(`the pickle refers to out-of-band buffers (${opcodeName(op)}), which a checkpoint cannot carry`);
      default:
        return this.invalid(`unknown opcode ${opcodeName(op)}`);
    }
  }

  // --- stack ---------------------------------------------------------------------------------------------------

  private push(v: PickleValue): void {
    if (this.stack.length >= this.limits.maxStack) this.limit(`the pickle puts more than ${this.limits.maxStack} values on its stack`);
    this.stack.push(v);
  }

  private base(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
  }

  private pop(): PickleValue {
    if (this.stack.length <= this.base()) this.invalid(`${opcodeName(this.op)} finds the stack empty`);
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    if (this.stack.length <= this.base()) this.invalid(`${opcodeName(this.op)} finds the stack empty`);
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.invalid(`${opcodeName(this.op)} has no matching MARK`);
    const items = this.stack.slice(mark);
    this.stack.length = mark;
    if (items.length > this.limits.maxContainerItems) this.limit(`a container has more than ${this.limits.maxContainerItems} items`);
    return items;
  }

  private grow(have: number, adding: number): void {
    if (have + adding > this.limits.maxContainerItems) this.limit(`a container has more than ${this.limits.maxContainerItems} items`);
  }

  // --- containers ----------------------------------------------------------------------------------------------

  private newDict(ordered: boolean): PickleDict {
    return { kind: 'dict', entries: new Map(), ordered };
  }

  private setItems(dict: PickleDict, items: PickleValue[]): void {
    for (let i = 0; i + 1 < items.length; i += 2) {
      const key = items[i]!;
      const k = this.keyOf(key);
      if (!dict.entries.has(k)) this.grow(dict.entries.size, 1);
      const existing = dict.entries.get(k);
      // A repeated key keeps its first position and takes the last value, as a Python dict does.
      if (existing) existing[1] = items[i + 1]!;
      else dict.entries.set(k, [key, items[i + 1]!]);
    }
  }

  private addToSet(set: Map<string, PickleValue>, items: PickleValue[]): void {
    this.grow(set.size, items.length);
    for (const v of items) set.set(this.keyOf(v), v);
  }

  private keyOf(v: PickleValue): string {
    return canonicalKey(v, (problem, isLimit) => (isLimit ? this.limit(problem) : this.invalid(problem)));
  }

  // --- memo ----------------------------------------------------------------------------------------------------

  private memoGet(index: number): PickleValue {
    const v = this.memo.get(index);
    if (v === undefined) this.invalid(`${opcodeName(this.op)} reads memo entry ${index}, which was never stored`);
    return v;
  }

  private memoPut(index: number): void {
    const v = this.top();
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) this.limit(`the pickle stores more than ${this.limits.maxMemo} memo entries`);
    this.memo.set(index, v);
  }

  // --- globals -------------------------------------------------------------------------------------------------

  private global(module: string, name: string): PickleValue {
    const mapped = this.protocol < 3 ? (PY2_MODULES[module] ?? module) : module;
    return this.hooks.findGlobal(mapped, name);
  }

  // --- input ---------------------------------------------------------------------------------------------------

  /** Makes sure n more bytes are in the buffer. */
  private need(n: number, what: string): void {
    if (n <= this.end - this.pos) return;
    if (n <= this.sourceEnd - this.pos) throw new NeedMoreInput(this.pos + n - this.start);
    this.invalid(`it ends in the middle of ${what} (no STOP): the file is truncated`);
  }

  private u8(): number {
    this.need(1, opcodeName(this.op));
    return this.bytes[this.pos++]!;
  }

  private u32(): number {
    this.need(4, opcodeName(this.op));
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A 64-bit length, which must fit in what is left of the input. */
  private u64(): number {
    this.need(8, opcodeName(this.op));
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.sourceEnd - this.pos)) {
      this.invalid(`${opcodeName(this.op)} declares ${v} bytes but only ${this.sourceEnd - this.pos} remain: the file is truncated or damaged`);
    }
    return Number(v);
  }

  /** n raw bytes, checked against the limit and the input before any allocation. */
  private span(n: number): Uint8Array {
    if (n > this.sourceEnd - this.pos) {
      this.invalid(`${opcodeName(this.op)} declares ${n} bytes but only ${this.sourceEnd - this.pos} remain: the file is truncated or damaged`);
    }
    if (n > this.limits.maxStringBytes) this.limit(`a string or bytes value in the pickle is ${n} bytes, more than the ${this.limits.maxStringBytes} allowed`);
    this.need(n, opcodeName(this.op));
    const s = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  private text(n: number): string {
    const at = this.pos;
    const raw = this.span(n);
    try {
      return utf8.decode(raw);
    } catch {
      return this.invalid(`a string at byte ${at} is not valid UTF-8`);
    }
  }

  private blob(n: number): Uint8Array {
    return this.span(n).slice();
  }

  private line(what: string): string {
    const limit = Math.min(this.end, this.pos + MAX_LINE);
    let i = this.pos;
    while (i < limit && this.bytes[i] !== 0x0a) i++;
    if (i === limit) {
      if (this.pos + MAX_LINE <= this.end) this.invalid(`a GLOBAL ${what} is longer than ${MAX_LINE} bytes`);
      if (this.end < this.sourceEnd) throw new NeedMoreInput(this.end + 1 - this.start);
      this.invalid(`it ends in the middle of a GLOBAL ${what} (no STOP): the file is truncated`);
    }
    const raw = this.bytes.subarray(this.pos, i);
    this.pos = i + 1;
    try {
      return utf8.decode(raw);
    } catch {
      return this.invalid(`a GLOBAL ${what} is not valid UTF-8`);
    }
  }

  private pushInt(v: number): void {
    this.push({ kind: 'int', value: v });
  }

  private pushLong(n: number): void {
    if (n > this.limits.maxLongBytes) this.limit(`an integer in the pickle is ${n} bytes long, more than the ${this.limits.maxLongBytes} allowed`);
    const raw = this.span(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    if (n > 0 && raw[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    const small = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
    this.push({ kind: 'int', value: small ? Number(v) : v });
  }

  // --- errors --------------------------------------------------------------------------------------------------

  private details(): Record<string, unknown> {
    return { position: this.opStart, opcode: opcodeName(this.op) };
  }

  private invalid(problem: string): never {
    throw new ModeldiffError('PT_INVALID', `the pickle is malformed: ${problem} (byte ${this.opStart})`, { details: this.details() });
  }

  private unsupported(problem: string): never {
    throw new ModeldiffError('PT_UNSUPPORTED', `refuses to load: ${problem} (byte ${this.opStart})`, { details: this.details() });
  }

  private limit(problem: string): never {
    throw new ModeldiffError('PT_LIMIT', `refuses to load: ${problem}, beyond what any checkpoint needs`, { details: this.details() });
  }
}
