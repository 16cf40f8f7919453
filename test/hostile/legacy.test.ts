// Hostile legacy (pre-1.6) PyTorch files (research note §7.4, L1-L7).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { concat, PickleWriter } from '../fixtures/pickleWriter';
import { legacyBytes, legacyParts, type TorchCheckpoint } from '../fixtures/torchWriter';
import { smallCheckpoint } from './craft';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const legacy = (name: string, replace: Parameters<typeof legacyBytes>[1] = {}, ckpt: TorchCheckpoint = smallCheckpoint()) => sb.file(`${name}.pt`, legacyBytes(ckpt, replace));
const pickle = (body: (w: PickleWriter) => void) => {
  const w = new PickleWriter(2).proto();
  body(w);
  return w.stop().toBytes();
};
const count = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, n, true);
  return b;
};

describe('legacy raw pickle stream', () => {
  it('L0 a valid legacy file opens and reads the same bytes as the zip format', async () => {
    const o = await expectOpened(sb, legacy('l0'), { readTensors: true });
    assert.equal(o.format, 'pytorch-legacy');
    assert.deepEqual(o.tensors.map((t) => t.name), ['model.diffusion_model.out.2.weight', 'model.diffusion_model.out.2.bias']);
  });

  it('L1 the magic number must be the literal pickle, not something computed', async () => {
    const computed = pickle((w) => w.global('builtins', 'eval').str('0x1950a86a20f9469cfc6c').tuple(1).op(OP.REDUCE));
    await expectRefused(sb, legacy('l1-eval', { magic: computed }), 'FORMAT_UNKNOWN', /Python pickle but not a PyTorch checkpoint/);
    const wrong = pickle((w) => w.long1(0x1950a86a20f9469cfc6dn));
    await expectRefused(sb, legacy('l1-wrong', { magic: wrong }), 'FORMAT_UNKNOWN', /lacks the PyTorch magic number/);
  });

  it('L2 protocol version other than 1001; sys_info not a dict; big-endian writer', async () => {
    await expectRefused(sb, legacy('l2-version', { version: pickle((w) => w.int(1000)) }), 'PT_UNSUPPORTED', /legacy protocol version is 1000, not 1001/);
    await expectRefused(sb, legacy('l2-version-str', { version: pickle((w) => w.str('1001')) }), 'PT_UNSUPPORTED', /legacy protocol version is a string/);
    await expectRefused(sb, legacy('l2-sysinfo', { sysInfo: pickle((w) => w.op(OP.EMPTY_LIST)) }), 'PT_INVALID', /sys_info is a list of 0, not a dict/);
    const bigEndian = pickle((w) => w.op(OP.EMPTY_DICT).str('little_endian').bool(false).op(OP.SETITEM));
    await expectRefused(sb, legacy('l2-big', { sysInfo: bigEndian }), 'PT_UNSUPPORTED', /big-endian machine/);
    const evil = pickle((w) => w.global('os', 'system').str('x').tuple(1).op(OP.REDUCE));
    await expectRefused(sb, legacy('l2-evil', { sysInfo: evil }), 'PT_UNSAFE_GLOBAL', /imports os\.system/);
  });

  it('L3 a pickled nn.Module (module persistent ids) is refused', async () => {
    const module = pickle((w) => {
      w.mark().str('module').global('torch.nn.modules.linear', 'Linear').str('linear.py').str('class Linear: ...').op(OP.TUPLE).op(OP.BINPERSID);
    });
    await expectRefused(sb, legacy('l3', { object: module }), ['PT_UNSAFE_GLOBAL', 'PT_UNSUPPORTED'], /torch\.nn\.modules\.linear\.Linear|nn\.Module/);
    const moduleNoGlobal = pickle((w) => w.mark().str('module').none().str('linear.py').str('src').op(OP.TUPLE).op(OP.BINPERSID));
    await expectRefused(sb, legacy('l3-plain', { object: moduleNoGlobal }), 'PT_UNSUPPORTED', /whole nn\.Module/);
  });

  it('L4 storage key list: duplicates, unused keys, used keys that are missing', async () => {
    const keys = (list: string[]) => pickle((w) => (w.mark(), list.forEach((k) => w.str(k)), w.op(OP.LIST)));
    await expectRefused(sb, legacy('l4-dup', { keys: keys(['0', '0', '1']) }), 'PT_INVALID', /storage "0" is listed twice/);
    await expectRefused(sb, legacy('l4-unused', { keys: keys(['0', '1', '2']) }), 'PT_INVALID', /storage "2" is listed but no tensor uses it/);
    await expectRefused(sb, legacy('l4-missing', { keys: keys(['0']) }), 'PT_INVALID', /storage "1" is used but its bytes are not in the file/);
    await expectRefused(sb, legacy('l4-notlist', { keys: pickle((w) => w.str('0')) }), 'PT_INVALID', /storage key list is a string/);
  });

  it('L5 size prefixes: wrong, huge, negative; data past the end; trailing bytes', async () => {
    const parts = legacyParts(smallCheckpoint());
    const data = (first: bigint) => {
      const d = parts.data.slice();
      d.set(count(first), 0);
      return d;
    };
    await expectRefused(sb, legacy('l5-wrong', { data: data(5n) }), 'PT_INVALID', /stored with 5 elements but the pickle says 6/);
    await expectRefused(sb, legacy('l5-huge', { data: data(2n ** 62n) }), 'PT_INVALID', /stored with 4611686018427387904 elements/);
    await expectRefused(sb, legacy('l5-neg', { data: data(-1n) }), 'PT_INVALID', /stored with -1 elements/);
    await expectRefused(sb, legacy('l5-short', { data: parts.data.subarray(0, parts.data.length - 3) }), 'PT_INVALID', /ends inside storage "1"|truncated/);
    await expectRefused(sb, legacy('l5-cut', { data: parts.data.subarray(0, 4) }), 'PT_INVALID', /ends inside the size of storage "0"/);
    await expectRefused(sb, legacy('l5-trailing', { data: concat([parts.data, new Uint8Array(5)]) }), 'PT_INVALID', /5 bytes after its last storage/);
  });

  it('L6 view metadata outside the root storage', async () => {
    const ckpt = smallCheckpoint();
    const viewPickle = (offset: number, size: number) =>
      pickle((w) => {
        w.op(OP.EMPTY_DICT).str('v').global('torch._utils', '_rebuild_tensor_v2').mark();
        w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6);
        w.str('view0').int(offset).int(size).tuple(3);
        w.op(OP.TUPLE).op(OP.BINPERSID);
        w.int(0).int(size).tuple(1).int(1).tuple(1).bool(false).global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE);
        w.op(OP.TUPLE).op(OP.REDUCE).op(OP.SETITEM);
      });
    const only0 = pickle((w) => w.mark().str('0').op(OP.LIST));
    const data0 = legacyParts(ckpt).data.subarray(0, 8 + 24);
    const ok = await expectOpened(sb, legacy('l6-ok', { object: viewPickle(2, 3), keys: only0, data: data0 }), { readTensors: true });
    assert.deepEqual(ok.tensors[0]!.shape, [3]);
    await expectRefused(sb, legacy('l6-out', { object: viewPickle(4, 3), keys: only0, data: data0 }), 'PT_INVALID', /view "view0" covers elements 4 to 7 of storage "0", which has 6/);
  });

  it('L7 the 0.1-0.3 tar format is refused with what it is and how to convert it', async () => {
    const header = new Uint8Array(512);
    header.set(new TextEncoder().encode('sys_info'), 0);
    header.set(new TextEncoder().encode('ustar\0'), 257);
    const tar = concat([header, new Uint8Array(1024)]);
    const msg = await expectRefused(sb, sb.file('l7.pt', tar), 'PT_UNSUPPORTED', /legacy tar format/);
    assert.match(msg, /torch\.save .*or convert it to safetensors/);
    const otherTar = header.slice();
    otherTar.set(new TextEncoder().encode('readme.txt\0\0'), 0);
    await expectRefused(sb, sb.file('l7-other.tar', concat([otherTar, new Uint8Array(1024)])), 'FORMAT_UNKNOWN', /tar archive, not a model/);
  });

  it('L0b a legacy object pickle may not use globals outside the allow-list either', async () => {
    const evil = pickle((w) => w.global('subprocess', 'Popen').str('sh').tuple(1).op(OP.REDUCE));
    await expectRefused(sb, legacy('l0b', { object: evil }), 'PT_UNSAFE_GLOBAL', /subprocess\.Popen/);
  });
});
