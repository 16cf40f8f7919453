// Hostile pickles (research note §7.3, P1-P29), each as the data.pkl of an otherwise valid torch zip.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { PickleWriter, le32 } from '../fixtures/pickleWriter';
import { callPickle, f32, persid, rebuildV2, stateDictPickle, storage, tupleOf, zipWithPickle } from './craft';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const F2 = storage('0', 'F32', f32([1, 2]));
const zip = (name: string, pickle: Uint8Array, storages = [F2]) => sb.file(`${name}.ckpt`, zipWithPickle(pickle, storages));
const unsafe = (name: string, pickle: Uint8Array, global: string) =>
  expectRefused(sb, zip(name, pickle), 'PT_UNSAFE_GLOBAL', new RegExp(`imports ${global.replace(/\./g, '\\.')}, which could run code`));
/** A pickle: PROTO 2, then `body`, then STOP. */
const p2 = (body: (w: PickleWriter) => void, protocol = 2) => {
  const w = new PickleWriter(protocol).proto();
  body(w);
  return w.stop().toBytes();
};
/** A valid one-tensor state dict with `extra` emitted as the value of key "extra". */
const withExtra = (extra: (w: PickleWriter) => void) =>
  p2((w) => {
    w.op(OP.EMPTY_DICT).mark().str('w');
    rebuildV2(w);
    w.str('extra');
    extra(w);
    w.op(OP.SETITEMS);
  });

describe('P1-P5 globals outside the allow-list are refused when GLOBAL/STACK_GLOBAL is read', () => {
  it('P1 os.system / posix.system with REDUCE, protocols 2 and 4; protocol 0 is not read at all', async () => {
    await unsafe('p1-os', callPickle('os', 'system'), 'os.system');
    await unsafe('p1-posix', callPickle('posix', 'system'), 'posix.system');
    await unsafe('p1-p4', callPickle('posix', 'system', 4), 'posix.system');
    // Protocol 0: "cposix\nsystem\n(S'...'\ntR." — refused before any global is looked at.
    const p0 = new TextEncoder().encode("cposix\nsystem\n(S'touch /tmp/modeldiff-pwned'\ntR.");
    await expectRefused(sb, zip('p1-p0', p0), 'PT_UNSUPPORTED', /protocol/);
    assert.equal(existsSync('/tmp/modeldiff-pwned'), false);
  });

  it('P2 Python 2 spellings are mapped, then refused', async () => {
    for (const name of ['eval', 'exec', 'getattr', 'apply', 'compile']) {
      await unsafe(`p2-${name}`, callPickle('__builtin__', name), `builtins.${name}`);
      await unsafe(`p2b-${name}`, callPickle('builtins', name), `builtins.${name}`);
    }
  });

  it('P3 STACK_GLOBAL judges the actual stack values (memo operands, decoys)', async () => {
    const fromMemo = p2((w) => {
      w.str('builtins');
      w.put();
      w.op(OP.POP);
      w.str('eval');
      w.put();
      w.op(OP.POP);
      w.str('collections').str('OrderedDict').op(OP.POP).op(OP.POP); // decoys
      w.get(0).get(1).op(OP.STACK_GLOBAL).str('1+1').tuple(1).op(OP.REDUCE);
    }, 4);
    await unsafe('p3-memo', fromMemo, 'builtins.eval');
    const notStrings = p2((w) => w.int(1).int(2).op(OP.STACK_GLOBAL), 4);
    await expectRefused(sb, zip('p3-ints', notStrings), 'PT_INVALID', /STACK_GLOBAL names an int and an int/);
  });

  it('P4 dotted attribute chains never match an allowed name', async () => {
    await unsafe('p4-subclasses', callPickle('builtins', 'print.__class__.__base__.__subclasses__'), 'builtins.print.__class__.__base__.__subclasses__');
    await unsafe('p4-globals', callPickle('torch._utils', '_rebuild_tensor_v2.__globals__'), 'torch._utils._rebuild_tensor_v2.__globals__');
    await unsafe('p4-split', callPickle('torch', '_utils._rebuild_tensor_v2'), 'torch._utils._rebuild_tensor_v2');
  });

  it('P5 torch-namespace primitives are not allowed', async () => {
    for (const [m, n] of [
      ['torch', 'load'],
      ['torch.serialization', 'load'],
      ['torch.storage', '_load_from_bytes'],
      ['torch._inductor.codecache', 'compile_file'],
      ['torch.utils.collect_env', 'run'],
      ['torch.jit', 'load'],
      ['torch.hub', 'load'],
    ]) {
      await unsafe(`p5-${n}`, callPickle(m!, n!), `${m}.${n}`);
    }
  });
});

describe('P6-P9 object construction and mutation', () => {
  it('P6 INST and OBJ are refused', async () => {
    const inst = new PickleWriter(2).proto().mark().raw(OP.INST, new TextEncoder().encode('os\nsystem\n')).stop().toBytes();
    await expectRefused(sb, zip('p6-inst', inst), 'PT_UNSUPPORTED', /instantiates a class with INST/);
    const obj = p2((w) => w.mark().global('collections', 'OrderedDict').op(OP.OBJ));
    await expectRefused(sb, zip('p6-obj', obj), 'PT_UNSUPPORTED', /instantiates a class with OBJ/);
  });

  it('P7 NEWOBJ / NEWOBJ_EX', async () => {
    await unsafe('p7-cls', p2((w) => w.global('argparse', 'Namespace').tuple(0).op(OP.NEWOBJ)), 'argparse.Namespace');
    await expectRefused(sb, zip('p7-size', p2((w) => w.global('torch', 'Size').tuple(0).op(OP.NEWOBJ))), 'PT_UNSUPPORTED', /torch\.Size with NEWOBJ/);
    const kwargs = p2((w) => w.global('collections', 'OrderedDict').tuple(0).op(OP.EMPTY_DICT).str('a').int(1).op(OP.SETITEM).op(OP.NEWOBJ_EX), 4);
    await expectRefused(sb, zip('p7-ex', kwargs), 'PT_UNSUPPORTED', /keyword arguments/);
    // An allowed empty construction is plain data.
    await expectOpened(sb, zip('p7-ok', withExtra((w) => w.global('collections', 'OrderedDict').tuple(0).op(OP.NEWOBJ))));
  });

  it('P8 BUILD: on a tensor refused, dict state on an OrderedDict accepted as data', async () => {
    const onTensor = p2((w) => {
      w.op(OP.EMPTY_DICT).str('w');
      rebuildV2(w);
      w.op(OP.EMPTY_DICT).str('__class__').str('x').op(OP.SETITEM).op(OP.BUILD).op(OP.SETITEM);
    });
    await expectRefused(sb, zip('p8-tensor', onTensor), 'PT_UNSUPPORTED', /sets the state of a tensor/);
    const onDict = p2((w) => {
      w.global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE).str('w');
      rebuildV2(w);
      w.op(OP.SETITEM);
      w.op(OP.EMPTY_DICT).str('__proto__').op(OP.EMPTY_DICT).str('polluted').bool(true).op(OP.SETITEM).op(OP.SETITEM).op(OP.BUILD);
    });
    const o = await expectOpened(sb, zip('p8-dict', onDict));
    assert.deepEqual(o.tensors.map((t) => t.name), ['w']);
    const onList = p2((w) => w.op(OP.EMPTY_LIST).op(OP.EMPTY_DICT).op(OP.BUILD));
    await expectRefused(sb, zip('p8-list', onList), 'PT_INVALID', /BUILD sets the state of a list/);
  });

  it('P9 SETITEM(S) only on dicts, APPEND(S) only on lists', async () => {
    const cases: [string, (w: PickleWriter) => void, RegExp][] = [
      ['list', (w) => w.op(OP.EMPTY_LIST).str('k').int(1).op(OP.SETITEM), /SETITEM targets a list/],
      ['tuple', (w) => w.tuple(0).mark().str('k').int(1).op(OP.SETITEMS), /SETITEMS targets a tuple/],
      ['str', (w) => w.str('s').str('k').int(1).op(OP.SETITEM), /SETITEM targets a string/],
      ['tensor', (w) => (rebuildV2(w), w.str('k').int(1).op(OP.SETITEM)), /SETITEM targets a tensor/],
      ['append-dict', (w) => w.op(OP.EMPTY_DICT).int(1).op(OP.APPEND), /APPEND targets a dict/],
      ['appends-tensor', (w) => (rebuildV2(w), w.mark().int(1).op(OP.APPENDS)), /APPENDS targets a tensor/],
    ];
    for (const [name, body, re] of cases) await expectRefused(sb, zip(`p9-${name}`, p2(body)), 'PT_INVALID', re);
  });
});

describe('P10-P12 persistent ids and tensor rebuilds', () => {
  it('P10 malformed persistent ids', async () => {
    const cases: [string, (w: PickleWriter) => void, RegExp, string?][] = [
      ['not-tuple', (w) => w.str('storage').op(OP.BINPERSID), /persistent id is a string, not a tuple/],
      ['module', (w) => w.mark().str('module').int(0).int(0).int(0).op(OP.TUPLE).op(OP.BINPERSID), /whole nn\.Module/, 'PT_UNSUPPORTED'],
      ['arity', (w) => w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').op(OP.TUPLE).op(OP.BINPERSID), /has 4 fields instead of 5/],
      ['key', (w) => w.mark().str('storage').global('torch', 'FloatStorage').int(0).str('cpu').int(2).op(OP.TUPLE).op(OP.BINPERSID), /storage key is an int/],
      ['numel', (w) => w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').str('2').op(OP.TUPLE).op(OP.BINPERSID), /has size a string/],
      ['negative', (w) => persid(w, 'FloatStorage', '0', -2), /has size -2/],
      ['type', (w) => w.mark().str('storage').global('torch', 'float32').str('0').str('cpu').int(2).op(OP.TUPLE).op(OP.BINPERSID), /names torch\.float32, not a storage class/],
    ];
    for (const [name, body, re, code] of cases) await expectRefused(sb, zip(`p10-${name}`, p2(body)), (code as 'PT_INVALID') ?? 'PT_INVALID', re);
    const text = new PickleWriter(2).proto().raw(OP.PERSID, new TextEncoder().encode('0\n')).stop().toBytes();
    await expectRefused(sb, zip('p10-persid', text), 'PT_UNSUPPORTED', /text opcode PERSID/);
  });

  it('P11 a storage larger than its record (or than any file) is refused before anything is read', async () => {
    await expectRefused(sb, zip('p11-huge', stateDictPickle((w) => rebuildV2(w, { numel: 2 ** 50, size: [2] }))), 'PT_INVALID', /needs \d+ bytes but its record has 8/);
    await expectRefused(sb, zip('p11-bigint', stateDictPickle((w) => rebuildV2(w, { numel: 2 ** 60 as number }))), 'PT_INVALID', /has size 1152921504606846976, not a non-negative integer/);
  });

  it('P12 bad rebuild arguments', async () => {
    const base = (o: Parameters<typeof rebuildV2>[1]) => zip('p12', stateDictPickle((w) => rebuildV2(w, o)));
    await expectRefused(sb, base({ args: (w) => w.int(0) }), 'PT_INVALID', /_rebuild_tensor_v2 gets 1 arguments instead of 6 to 7/);
    await expectRefused(sb, base({ size: [-2] as number[], stride: [1] }), 'PT_INVALID', /size of a tensor contains -2/);
    const floatSize = stateDictPickle((w) =>
      rebuildV2(w, {
        args: (x) => {
          persid(x, 'FloatStorage', '0', 2);
          x.int(0).mark().float(2).op(OP.TUPLE);
          tupleOf(x, [1]);
          x.bool(false).global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE);
        },
      }),
    );
    await expectRefused(sb, zip('p12-float', floatSize), 'PT_INVALID', /size of a tensor contains a float/);
    await expectRefused(sb, base({ size: new Array(65).fill(1), stride: new Array(65).fill(1) }), 'PT_INVALID', /65 dimensions/);
    await expectRefused(sb, base({ size: [2], stride: [1], offset: 1 }), 'PT_INVALID', /reaches element 2 of a storage that has 2/);
    await expectRefused(sb, base({ size: [2, 2], stride: [1, 1] }), 'PT_INVALID', /reaches element 2/);
    await expectRefused(sb, base({ size: [2 ** 27, 2 ** 27], stride: [0, 0] }), 'PT_INVALID', /larger than any real file/);
    await expectRefused(sb, base({ size: [2, 3], stride: [1] }), 'PT_INVALID', /2 sizes but 1 strides/);
    // Zero-size dimensions are legal and need no bytes.
    const o = await expectOpened(sb, base({ size: [0, 5], stride: [5, 1], offset: 2 }));
    assert.deepEqual(o.tensors[0]!.shape, [0, 5]);
  });
});

describe('P13-P18 stream structure and encodings', () => {
  it('P13 truncated stream, STOP on an empty stack, data after STOP', async () => {
    const full = stateDictPickle((w) => rebuildV2(w));
    await expectRefused(sb, zip('p13-trunc', full.subarray(0, full.length - 1)), 'PT_INVALID', /no STOP/);
    await expectRefused(sb, zip('p13-trunc-mid', full.subarray(0, 40)), 'PT_INVALID', /no STOP|truncated/);
    await expectRefused(sb, zip('p13-empty', p2(() => {})), 'PT_INVALID', /nothing on the stack/);
    const trailing = new Uint8Array([...full, ...callPickle('os', 'system')]);
    const o = await expectOpened(sb, zip('p13-after', trailing));
    assert.ok(o.notes.some((n) => /data\.pkl has \d+ bytes after its end; they were ignored/.test(n)));
  });

  it('P14 stack underflow and unbalanced MARKs', async () => {
    const cases: [string, (w: PickleWriter) => void, RegExp][] = [
      ['pop', (w) => w.op(OP.POP), /POP finds the stack empty/],
      ['reduce', (w) => w.tuple(0).op(OP.REDUCE), /REDUCE finds the stack empty/],
      ['pop-mark', (w) => w.op(OP.POP_MARK), /POP_MARK has no matching MARK/],
      ['tuple', (w) => w.int(1).op(OP.TUPLE), /TUPLE has no matching MARK/],
      ['appends', (w) => w.op(OP.EMPTY_LIST).op(OP.APPENDS), /APPENDS has no matching MARK/],
      ['setitems', (w) => w.op(OP.EMPTY_DICT).op(OP.SETITEMS), /SETITEMS has no matching MARK/],
      ['under-mark', (w) => w.int(1).mark().op(OP.POP), /POP finds the stack empty/],
      ['open-mark', (w) => w.int(1).mark(), /MARK still open/],
      ['two-values', (w) => w.int(1).int(2), /2 values on the stack/],
    ];
    for (const [name, body, re] of cases) await expectRefused(sb, zip(`p14-${name}`, p2(body)), 'PT_INVALID', re);
  });

  it('P15 memo reads of entries never stored', async () => {
    await expectRefused(sb, zip('p15-binget', p2((w) => w.get(7))), 'PT_INVALID', /BINGET reads memo entry 7, which was never stored/);
    await expectRefused(sb, zip('p15-long', p2((w) => w.get(70000))), 'PT_INVALID', /LONG_BINGET reads memo entry 70000/);
  });

  it('P16 length fields beyond the input: no backwards cursor, no allocation, no hang', async () => {
    await expectRefused(sb, zip('p16-nine', Uint8Array.of(0x80, 0x02, 0x42, 0xfb, 0xff, 0xff, 0xff, 0x2e)), 'PT_INVALID', /declares 4294967291 bytes but only 1 remain/);
    await expectRefused(sb, zip('p16-unicode', Uint8Array.of(0x80, 0x02, OP.BINUNICODE, 0xfb, 0xff, 0xff, 0xff, 0x2e)), 'PT_INVALID', /declares 4294967291 bytes/);
    const eight = (op: number) => Uint8Array.of(0x80, 0x04, op, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e);
    await expectRefused(sb, zip('p16-bytes8', eight(OP.BINBYTES8)), 'PT_INVALID', /BINBYTES8 declares 9223372036854775808 bytes but only 1 remain/);
    await expectRefused(sb, zip('p16-unicode8', eight(OP.BINUNICODE8)), 'PT_INVALID', /BINUNICODE8 declares 9223372036854775808 bytes/);
    await expectRefused(sb, zip('p16-shortstr', Uint8Array.of(0x80, 0x02, OP.SHORT_BINSTRING, 0xff, 0x41)), 'PT_INVALID', /declares 255 bytes but only 1 remain/);
    await expectRefused(sb, zip('p16-binstring', Uint8Array.of(0x80, 0x02, OP.BINSTRING, 0xfb, 0xff, 0xff, 0xff, 0x2e)), 'PT_INVALID', /negative length/);
  });

  it('P17 LONG1/LONG4 are signed, exact and bounded', async () => {
    const o = await expectOpened(
      sb,
      zip(
        'p17-ok',
        p2((w) => {
          w.op(OP.EMPTY_DICT).mark().str('state_dict').op(OP.EMPTY_DICT).str('w');
          rebuildV2(w);
          w.op(OP.SETITEM);
          w.str('magic').long1(0x1950a86a20f9469cfc6cn);
          w.str('minus_one').raw(OP.LONG1, 1, 0xff);
          w.str('big').long1(2n ** 70n + 1n);
          w.str('zero').raw(OP.LONG1, 0);
          w.op(OP.SETITEMS);
        }),
      ),
    );
    assert.equal(o.metadata.magic, String(0x1950a86a20f9469cfc6cn));
    assert.equal(o.metadata.minus_one, '-1');
    assert.equal(o.metadata.big, String(2n ** 70n + 1n));
    assert.equal(o.metadata.zero, '0');
    await expectRefused(sb, zip('p17-long4', Uint8Array.of(0x80, 0x02, OP.LONG4, ...le32(2 ** 31 - 1), 0x2e)), 'PT_LIMIT', /2147483647 bytes long/);
    await expectRefused(sb, zip('p17-long1', Uint8Array.of(0x80, 0x02, OP.LONG1, 17, ...new Array(17).fill(1), 0x2e)), 'PT_LIMIT', /17 bytes long/);
    await expectRefused(sb, zip('p17-long4-neg', Uint8Array.of(0x80, 0x02, OP.LONG4, 0xff, 0xff, 0xff, 0xff, 0x2e)), 'PT_INVALID', /negative length/);
  });

  it('P18 invalid UTF-8 is refused, never replaced (two keys would collide)', async () => {
    const bad = p2((w) => w.op(OP.EMPTY_DICT).mark().strBytes([0xff, 0xfe]).int(1).strBytes([0xfe, 0xff]).int(2).op(OP.SETITEMS));
    await expectRefused(sb, zip('p18', bad), 'PT_INVALID', /not valid UTF-8/);
    const badGlobal = new PickleWriter(2).proto().raw(OP.GLOBAL, [0xff, 0x0a, 0x41, 0x0a]).stop().toBytes();
    await expectRefused(sb, zip('p18-global', badGlobal), 'PT_INVALID', /GLOBAL module is not valid UTF-8/);
  });
});

describe('P19-P24 resource abuse and key handling', () => {
  it('P19 a million nested MARKs stop at the depth limit', async () => {
    const w = new PickleWriter(2).proto();
    w.raw(new Uint8Array(1_000_000).fill(OP.MARK));
    await expectRefused(sb, zip('p19', w.stop().toBytes()), 'PT_LIMIT', /nests more than 1000 levels/);
  });

  it('P20 billion laughs stays small; a list that contains itself is inert data', async () => {
    const laughs = p2((w) => {
      w.op(OP.EMPTY_DICT).str('w');
      rebuildV2(w);
      w.op(OP.SETITEM);
      w.op(OP.EMPTY_LIST);
      let prev = w.put();
      w.op(OP.POP);
      for (let i = 0; i < 30; i++) {
        w.mark();
        for (let k = 0; k < 10; k++) w.get(prev);
        w.op(OP.LIST);
        prev = w.put();
        w.op(OP.POP);
      }
      w.str('lol').get(prev).op(OP.SETITEM);
      w.str('self').op(OP.EMPTY_LIST);
      const self = w.put();
      w.get(self).op(OP.APPEND).op(OP.SETITEM);
    });
    const o = await expectOpened(sb, zip('p20', laughs));
    assert.ok(o.notes.some((n) => /"lol" \(a list of 10\), "self" \(a list of 1\)/.test(n)), o.notes.join('\n'));
    // The same expansion through a dict key must hit the key-size bound.
    const keyBomb = p2((w) => {
      w.op(OP.EMPTY_DICT).str('x').tuple(1);
      let prev = w.put();
      w.op(OP.POP);
      for (let i = 0; i < 40; i++) {
        w.get(prev).get(prev).tuple(2);
        prev = w.put();
        w.op(OP.POP);
      }
      w.get(prev).int(1).op(OP.SETITEM);
    });
    await expectRefused(sb, zip('p20-key', keyBomb), 'PT_LIMIT', /dict key is larger than 1 MiB/);
  });

  it('P21 ten million NONE POP stop at the opcode limit; memo abuse stops at the memo limit', async () => {
    const w = new PickleWriter(2).proto();
    const body = new Uint8Array(20_000_002);
    for (let i = 0; i < body.length - 2; i += 2) {
      body[i] = OP.NONE;
      body[i + 1] = OP.POP;
    }
    body[body.length - 2] = OP.NONE;
    body[body.length - 1] = OP.STOP;
    await expectRefused(sb, zip('p21-ops', new Uint8Array([...w.toBytes(), ...body])), 'PT_LIMIT', /more than 10000000 opcodes/);
    const memo = new Uint8Array(2 + 1 + 5 * 2_000_001 + 1);
    memo.set([0x80, 0x02, OP.NONE]);
    for (let i = 0; i <= 2_000_000; i++) memo.set([OP.LONG_BINPUT, ...le32(i)], 3 + 5 * i);
    memo[memo.length - 1] = OP.STOP;
    await expectRefused(sb, zip('p21-memo', memo), 'PT_LIMIT', /more than 2000000 memo entries/);
    // A sparse index is a Map key, not an array length.
    await expectOpened(sb, zip('p21-sparse', withExtra((w) => w.none().raw(OP.LONG_BINPUT, 0xff, 0xff, 0xff, 0xff))));
  });

  it('P22 APPENDS and SETITEMS with 200k items work without spreading arguments', async () => {
    const big = withExtra((w) => {
      w.op(OP.EMPTY_LIST).mark();
      for (let i = 0; i < 200_000; i++) w.int(i & 0xff);
      w.op(OP.APPENDS);
    });
    const o = await expectOpened(sb, zip('p22-list', big));
    assert.ok(o.notes.some((n) => n.includes('"extra" (a list of 200000)')));
    const dict = withExtra((w) => {
      w.op(OP.EMPTY_DICT).mark();
      for (let i = 0; i < 200_000; i++) w.int(i).none();
      w.op(OP.SETITEMS);
    });
    const d = await expectOpened(sb, zip('p22-dict', dict));
    assert.ok(d.notes.some((n) => n.includes('"extra" (a dict of 200000)')));
  });

  it('P23 __proto__, constructor and hasOwnProperty are plain keys (SETITEM, DICT, BUILD)', async () => {
    const pickle = p2((w) => {
      w.op(OP.EMPTY_DICT).mark();
      for (const [i, key] of ['__proto__', 'constructor', 'hasOwnProperty'].entries()) {
        w.str(key);
        rebuildV2(w, { key: String(i) });
      }
      w.op(OP.SETITEMS);
      w.str('via_dict').mark().str('__proto__').str('polluted').op(OP.DICT).op(OP.SETITEM);
    });
    const storages = [0, 1, 2].map((i) => storage(String(i), 'F32', f32([i, i])));
    const o = await expectOpened(sb, zip('p23', pickle, storages));
    assert.deepEqual(o.tensors.map((t) => t.name), ['__proto__', 'constructor', 'hasOwnProperty']);
    const meta = p2((w) => {
      w.op(OP.EMPTY_DICT).mark().str('state_dict').op(OP.EMPTY_DICT).str('w');
      rebuildV2(w);
      w.op(OP.SETITEM).str('__proto__').str('x').str('constructor').int(1).op(OP.SETITEMS);
    });
    const m = await expectOpened(sb, zip('p23-meta', meta));
    assert.equal(m.metadata['__proto__'], 'x');
    assert.equal(m.metadata.constructor, '1');
  });

  it('P24 typed keys stay distinct: 1, "1", b"1", (1,)', async () => {
    const pickle = p2((w) => {
      w.op(OP.EMPTY_DICT).mark();
      w.str('1');
      rebuildV2(w);
      w.int(1).str('int key');
      w.bytes(new TextEncoder().encode('1')).str('bytes key');
      w.int(1).tuple(1).str('tuple key');
      w.op(OP.SETITEMS);
    });
    const o = await expectOpened(sb, zip('p24', pickle));
    assert.deepEqual(o.tensors.map((t) => t.name), ['1']);
    assert.ok(o.notes.some((n) => /3 entries are not tensors/.test(n)), o.notes.join('\n'));
    const unhashable = p2((w) => w.op(OP.EMPTY_DICT).op(OP.EMPTY_LIST).int(1).op(OP.SETITEM));
    await expectRefused(sb, zip('p24-list-key', unhashable), 'PT_INVALID', /dict key is a list/);
  });
});

describe('P25-P29 protocol details and the allow-list', () => {
  it('P25 PROTO 6, PROTO not first, PROTO twice', async () => {
    await expectRefused(sb, zip('p25-6', Uint8Array.of(0x80, 0x06, OP.NONE, 0x2e)), 'PT_UNSUPPORTED', /protocol 6/);
    await expectRefused(sb, zip('p25-late', Uint8Array.of(OP.NONE, 0x80, 0x02, 0x2e)), 'PT_UNSUPPORTED', /does not start with a protocol marker/);
    await expectRefused(sb, zip('p25-twice', Uint8Array.of(0x80, 0x02, 0x80, 0x02, OP.NONE, 0x2e)), 'PT_INVALID', /PROTO appears after the start/);
  });

  it('P26 extension registry, out-of-band buffers, FRAME beyond the input', async () => {
    for (const [name, op] of [['ext1', OP.EXT1], ['ext2', OP.EXT2], ['ext4', OP.EXT4]] as const) {
      await expectRefused(sb, zip(`p26-${name}`, Uint8Array.of(0x80, 0x02, op, 1, 0, 0, 0, 0x2e)), 'PT_UNSUPPORTED', /extension registry/);
    }
    await expectRefused(sb, zip('p26-next', Uint8Array.of(0x80, 0x05, OP.NEXT_BUFFER, 0x2e)), 'PT_UNSUPPORTED', /out-of-band buffers/);
    await expectRefused(sb, zip('p26-ro', Uint8Array.of(0x80, 0x05, OP.NONE, OP.READONLY_BUFFER, 0x2e)), 'PT_UNSUPPORTED', /out-of-band buffers/);
    await expectRefused(sb, zip('p26-frame', Uint8Array.of(0x80, 0x04, OP.FRAME, 0xff, 0xff, 0, 0, 0, 0, 0, 0, OP.NONE, 0x2e)), 'PT_INVALID', /FRAME declares 65535 bytes but only 2 remain/);
  });

  it('P27 _codecs.encode: latin1 bytes accepted, anything else refused', async () => {
    const ok = withExtra((w) => w.global('_codecs', 'encode').str('\u00e9t\u00e9').str('latin1').tuple(2).op(OP.REDUCE));
    const o = await expectOpened(sb, zip('p27-ok', ok));
    assert.ok(o.notes.some((n) => n.includes('"extra" (bytes)')));
    const rot = withExtra((w) => w.global('_codecs', 'encode').str('abc').str('rot13').tuple(2).op(OP.REDUCE));
    await expectRefused(sb, zip('p27-rot13', rot), 'PT_UNSUPPORTED', /"rot13"; only latin1-encoded bytes are read/);
    const nonStr = withExtra((w) => w.global('_codecs', 'encode').int(1).str('latin1').tuple(2).op(OP.REDUCE));
    await expectRefused(sb, zip('p27-int', nonStr), 'PT_UNSUPPORTED', /_codecs\.encode with an int/);
  });

  it('P28 OrderedDict(pairs), torch.Size, torch.device, set: exact argument types only', async () => {
    const ok = p2((w) => {
      w.global('collections', 'OrderedDict').mark();
      w.mark().str('w');
      rebuildV2(w, {
        args: (x) => {
          persid(x, 'FloatStorage', '0', 2);
          x.int(0);
          x.global('torch', 'Size').mark().int(2).op(OP.TUPLE).tuple(1).op(OP.REDUCE);
          tupleOf(x, [1]);
          x.bool(false).global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE);
        },
      });
      w.op(OP.TUPLE);
      w.mark().str('device').global('torch', 'device').str('cuda').int(0).tuple(2).op(OP.REDUCE).op(OP.TUPLE);
      w.mark().str('set').global('builtins', 'set').mark().int(1).int(2).op(OP.LIST).tuple(1).op(OP.REDUCE).op(OP.TUPLE);
      w.op(OP.LIST).tuple(1).op(OP.REDUCE);
    });
    const o = await expectOpened(sb, zip('p28-ok', ok));
    assert.deepEqual(o.tensors.map((t) => [t.name, t.shape]), [['w', [2]]]);
    const badPairs = p2((w) => w.global('collections', 'OrderedDict').mark().int(1).op(OP.LIST).tuple(1).op(OP.REDUCE));
    await expectRefused(sb, zip('p28-pairs', badPairs), 'PT_INVALID', /where a \(key, value\) pair belongs/);
    const badSize = p2((w) => w.global('torch', 'Size').str('2').tuple(1).op(OP.REDUCE));
    await expectRefused(sb, zip('p28-size', badSize), 'PT_INVALID', /torch\.Size gets a string/);
    const badDevice = p2((w) => w.global('torch', 'device').int(0).tuple(1).op(OP.REDUCE));
    await expectRefused(sb, zip('p28-device', badDevice), 'PT_INVALID', /torch\.device gets an int/);
    const dtypeCall = p2((w) => w.global('torch', 'float32').tuple(0).op(OP.REDUCE));
    await expectRefused(sb, zip('p28-dtype', dtypeCall), 'PT_UNSUPPORTED', /calls torch\.float32, which is not a function/);
  });

  it('P29 harmless-looking globals outside the allow-list are refused by name; the inert ones say how to opt in', async () => {
    for (const [m, n, inert] of [
      ['numpy.core.multiarray', 'scalar', true],
      ['numpy', 'dtype', true],
      ['pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint', true],
      ['argparse', 'Namespace', true],
      ['omegaconf.dictconfig', 'DictConfig', false],
    ] as const) {
      const path = zip(`p29-${n}`, withExtra((w) => w.global(m, n)));
      const message = await expectRefused(sb, path, 'PT_UNSAFE_GLOBAL', new RegExp(`imports ${m.replace(/\./g, '\\.')}\\.${n}, which could run code`));
      assert.equal(/--extract-weights/.test(message), inert, message);
      if (inert) {
        const o = await expectOpened(sb, path, { extractWeights: true });
        assert.ok(o.notes.some((x) => x.startsWith(`ignored pickled objects: ${m}.${n} (x1)`)), o.notes.join(' | '));
      } else {
        await expectRefused(sb, path, 'PT_UNSAFE_GLOBAL', /imports omegaconf\.dictconfig\.DictConfig/, { extractWeights: true });
      }
    }
  });
});
