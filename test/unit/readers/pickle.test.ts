// The restricted unpickler on its own: decoding, dict semantics, memo, framing, resumable input, limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModeldiffError } from '../../../src/shared/errors';
import { NeedMoreInput, unpickle, type PickleHooks } from '../../../src/compute/readers/pickle/unpickler';
import { OP } from '../../../src/compute/readers/pickle/opcodes';
import type { PickleValue } from '../../../src/compute/readers/pickle/values';
import { torchPickleHooks } from '../../../src/compute/readers/pytorch/torchGlobals';
import { PickleWriter } from '../../fixtures/pickleWriter';

const noStorages = () => {
  throw new Error('no storages here');
};
const hooks: PickleHooks = torchPickleHooks(noStorages);
const run = (bytes: Uint8Array, opts: Parameters<typeof unpickle>[3] = {}) => unpickle(bytes, 0, hooks, opts).value;
const pickle = (body: (w: PickleWriter) => void, protocol = 2) => {
  const w = new PickleWriter(protocol).proto();
  body(w);
  return w.stop().toBytes();
};
const refused = (bytes: Uint8Array, code: string, re: RegExp, opts: Parameters<typeof unpickle>[3] = {}) =>
  assert.throws(() => run(bytes, opts), (e: unknown) => e instanceof ModeldiffError && e.code === code && re.test(e.message));

/** A plain JS picture of a value, for assertions. */
function plain(v: PickleValue): unknown {
  switch (v.kind) {
    case 'none':
      return null;
    case 'bool':
    case 'int':
    case 'float':
    case 'str':
      return v.value;
    case 'bytes':
      return [...v.value];
    case 'tuple':
      return { tuple: v.items.map(plain) };
    case 'list':
      return v.items.map(plain);
    case 'dict':
      return [...v.entries.values()].map(([k, x]) => [plain(k), plain(x)]);
    case 'set':
      return { set: [...v.items.values()].map(plain) };
    default:
      return v.kind;
  }
}

describe('restricted unpickler', () => {
  it('decodes ints exactly (BININT signed, LONG1 two\'s complement, bigints beyond 2^53)', () => {
    const v = run(
      pickle((w) => {
        w.mark();
        w.int(-5).int(255).int(65535).int(-(2 ** 31)).long1(2n ** 53n + 1n).long1(-(2n ** 70n)).raw(OP.LONG1, 1, 0xff).raw(OP.LONG1, 2, 0xff, 0x00);
        w.raw(OP.LONG4, 2, 0, 0, 0, 0x00, 0x80);
        w.op(OP.LIST);
      }),
    );
    assert.deepEqual(plain(v), [-5, 255, 65535, -(2 ** 31), 2n ** 53n + 1n, -(2n ** 70n), -1, 255, -32768]);
  });

  it('decodes floats, strings of every width, bytes, bools, None', () => {
    const v = run(
      pickle((w) => {
        w.mark().float(-0.5).str('é😀').raw(OP.SHORT_BINUNICODE, 1, 0x61).raw(OP.BINUNICODE8, 1, 0, 0, 0, 0, 0, 0, 0, 0x62);
        w.raw(OP.SHORT_BINSTRING, 1, 0x63).bytes(Uint8Array.of(1, 2)).raw(OP.BINBYTES8, 1, 0, 0, 0, 0, 0, 0, 0, 9);
        w.raw(OP.BYTEARRAY8, 0, 0, 0, 0, 0, 0, 0, 0).bool(true).bool(false).none().op(OP.TUPLE);
      }, 5),
    );
    assert.deepEqual(plain(v), { tuple: [-0.5, 'é😀', 'a', 'b', 'c', [1, 2], [9], [], true, false, null] });
  });

  it('dicts keep first positions, take last values, and keep typed keys apart', () => {
    const v = run(
      pickle((w) => {
        w.op(OP.EMPTY_DICT).mark().str('a').int(1).int(1).str('int').str('b').int(2).bool(true).str('bool').str('a').int(3).op(OP.SETITEMS);
      }),
    );
    // True == 1 as a key, like Python; "a" keeps its first position with its last value.
    assert.deepEqual(plain(v), [['a', 3], [1, 'bool'], ['b', 2]]);
  });

  it('sets and frozensets, memo round trips, DUP, POP_MARK, protocol 4 framing', () => {
    const v = run(
      pickle((w) => {
        w.mark();
        w.op(OP.EMPTY_SET).mark().int(1).int(2).int(1).op(OP.ADDITEMS);
        w.mark().str('x').op(OP.FROZENSET);
        w.str('memo');
        w.op(OP.MEMOIZE);
        w.op(OP.POP).get(0).op(OP.DUP);
        w.mark().int(9).op(OP.POP_MARK);
        w.op(OP.TUPLE);
      }, 4),
    );
    assert.deepEqual(plain(v), { tuple: [{ set: [1, 2] }, { set: ['x'] }, 'memo', 'memo'] });
  });

  it('OrderedDict, torch.Size and _codecs.encode are interpreted as data', () => {
    const v = run(
      pickle((w) => {
        w.global('collections', 'OrderedDict').mark().mark().str('k').global('torch', 'Size').mark().int(2).int(3).op(OP.TUPLE).tuple(1).op(OP.REDUCE).op(OP.TUPLE).op(OP.LIST).tuple(1).op(OP.REDUCE);
      }),
    );
    assert.deepEqual(plain(v), [['k', { tuple: [2, 3] }]]);
    const b = run(pickle((w) => w.global('_codecs', 'encode').str('\u00ff\u0000A').str('latin1').tuple(2).op(OP.REDUCE)));
    assert.deepEqual(plain(b), [255, 0, 65]);
  });

  it('asks for more input when the buffer ends before the source does, and resumes from the start', () => {
    const full = pickle((w) => w.str('x'.repeat(100)));
    assert.throws(() => unpickle(full.subarray(0, 20), 0, hooks, { sourceLength: full.length }), (e: unknown) => e instanceof NeedMoreInput && e.wanted > 20);
    assert.deepEqual(plain(unpickle(full, 0, hooks, { sourceLength: full.length }).value), 'x'.repeat(100));
    const global = pickle((w) => w.global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE));
    assert.throws(() => unpickle(global.subarray(0, 8), 0, hooks, { sourceLength: global.length }), NeedMoreInput);
  });

  it('starts at an offset and reports where the pickle ended', () => {
    const a = pickle((w) => w.int(1));
    const b = pickle((w) => w.int(2));
    const both = new Uint8Array([...a, ...b]);
    const first = unpickle(both, 0, hooks);
    const second = unpickle(both, first.end, hooks);
    assert.deepEqual([plain(first.value), plain(second.value), second.end], [1, 2, both.length]);
  });

  it('limits are configurable and checked before allocating', () => {
    const deep = pickle((w) => {
      for (let i = 0; i < 20; i++) w.mark();
      for (let i = 0; i < 20; i++) w.op(OP.LIST);
    });
    refused(deep, 'PT_LIMIT', /nests more than 10 levels/, { limits: { maxMarkDepth: 10 } });
    refused(pickle((w) => w.str('abcdef')), 'PT_LIMIT', /6 bytes, more than the 4 allowed/, { limits: { maxStringBytes: 4 } });
    refused(pickle((w) => w.mark().int(1).int(2).int(3).op(OP.LIST)), 'PT_LIMIT', /more than 2 items/, { limits: { maxContainerItems: 2 } });
    refused(pickle((w) => w.int(1).int(2).int(3)), 'PT_LIMIT', /more than 2 values/, { limits: { maxStack: 2 } });
  });

  it('never calls anything: a REDUCE on an allowed value that is not a function is refused', () => {
    refused(pickle((w) => w.global('torch', 'FloatStorage').tuple(0).op(OP.REDUCE)), 'PT_UNSUPPORTED', /calls torch\.FloatStorage, which is not a function/);
    refused(pickle((w) => w.str('x').tuple(0).op(OP.REDUCE)), 'PT_UNSUPPORTED', /calls a string, which is not a function/);
  });
});
