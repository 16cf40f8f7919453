// Extract-weights mode (research note §2.6, P29, C2): Lightning callbacks keyed by ModelCheckpoint, numpy scalars and
// argparse.Namespace hyper-parameters are read as inert data when asked, refused with a hint otherwise; names
// outside that short list stay refused in both modes, and opaque objects never become tensors.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Checkpoint } from '../../../src/compute/model/checkpoint';
import { ModeldiffError } from '../../../src/shared/errors';
import { OP } from '../../../src/compute/readers/pickle/opcodes';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { tmpDir } from '../../helpers/tmp';
import { PickleWriter } from '../../fixtures/pickleWriter';
import {
  argparseNamespace,
  checkpointPickle,
  contiguousTensors,
  numpyScalar,
  writeTorchLegacy,
  writeTorchZip,
  type PyLiteral,
  type TorchCheckpoint,
} from '../../fixtures/torchWriter';
import { readTensor } from './readTensor';

const dir = tmpDir();
let n = 0;
const file = (ext = 'ckpt') => join(dir, `${n++}.${ext}`);
const EXTRACT = { extractWeights: true };
const MODEL_CHECKPOINT: [string, string] = ['pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint'];

const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const f64 = (v: number) => new Uint8Array(new Float64Array([v]).buffer);

function tensors(): TorchCheckpoint['tensors'] {
  return contiguousTensors([
    { name: 'model.diffusion_model.out.2.weight', dtype: 'F32', shape: [2, 3], bytes: f32([1, 2, 3, 4, 5, 6]) },
    { name: 'model.diffusion_model.out.2.bias', dtype: 'F32', shape: [2], bytes: f32([7, 8]) },
    { name: 'cond_stage_model.transformer.w', dtype: 'F16', shape: [2], bytes: Uint8Array.of(0, 0x3c, 0, 0xc0) },
  ]);
}

/** A Lightning checkpoint with `more` top-level entries beside the state dict. */
function lightning(more: [string, PyLiteral][]): TorchCheckpoint {
  return { tensors: tensors(), lightning: { epoch: 5, globalStep: 470000, version: '1.4.2', more } };
}

/** callbacks as PL < 1.5 saved them: keyed by the callback class. */
function modelCheckpointCallbacks(): [string, PyLiteral] {
  const state: PyLiteral = {
    dict: [
      ['monitor', null],
      ['best_model_score', null],
      ['best_model_path', ''],
      ['current_score', null],
      ['dirpath', 'logs/checkpoints'],
    ],
  };
  return ['callbacks', { dict: [[{ global: MODEL_CHECKPOINT }, state]] }];
}

async function refused(path: string, opts = {}): Promise<ModeldiffError> {
  const e = await openCheckpoint(path, undefined, opts).then(
    () => assert.fail('expected the file to be refused'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof ModeldiffError, String(e));
  return e;
}

async function sameTensors(got: Checkpoint, want: Checkpoint): Promise<void> {
  assert.deepEqual(
    got.tensors.map((t) => [t.name, t.dtype, t.shape]),
    want.tensors.map((t) => [t.name, t.dtype, t.shape]),
  );
  got.tensors.forEach((t, i) => assert.ok(readTensor(t).equals(readTensor(want.tensors[i]!)), t.name));
}

const HINT = /nothing else stops it.*--extract-weights \(CLI\).*modeldiff\.compare\.extractWeights \(VS Code\)/;

describe('Lightning checkpoints with callbacks keyed by ModelCheckpoint (C2)', () => {
  for (const container of ['zip', 'legacy'] as const) {
    it(`${container}: refused by default with the opt-in hint; extract-weights reads the same tensors as without callbacks`, async () => {
      const write = container === 'zip' ? writeTorchZip : writeTorchLegacy;
      const withCallbacks = file();
      write(withCallbacks, lightning([modelCheckpointCallbacks()]));
      const plain = file();
      write(plain, lightning([]));

      const e = await refused(withCallbacks);
      assert.equal(e.code, 'PT_UNSAFE_GLOBAL');
      assert.match(e.message, /imports pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint, which could run code/);
      assert.match(e.message, HINT);
      assert.equal(e.file, withCallbacks);

      const c = await openCheckpoint(withCallbacks, undefined, EXTRACT);
      await sameTensors(c, await openCheckpoint(plain));
      assert.deepEqual({ ...c.metadata }, { epoch: '5', global_step: '470000', 'pytorch-lightning_version': '1.4.2' });
      assert.ok(c.notes.includes('ignored pickled objects: pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint (x1); kept as inert data by extract-weights mode, never run'), c.notes.join(' | '));
      assert.ok(c.notes.some((x) => x.includes('not compared: "callbacks" (a dict of 1)')), c.notes.join(' | '));
    });
  }

  it('no hint when extract-weights mode would refuse the file too', async () => {
    // The whole file is a Namespace: not a dictionary of tensors in either mode.
    const w = new PickleWriter(2).proto();
    w.global('argparse', 'Namespace').tuple(0).op(0x81 /* NEWOBJ */).stop();
    const p = file();
    writeTorchZip(p, { tensors: [] }, { pickle: w.toBytes() });
    const e = await refused(p);
    assert.equal(e.code, 'PT_UNSAFE_GLOBAL');
    assert.match(e.message, /imports argparse\.Namespace, which could run code$/);
    assert.equal((await refused(p, EXTRACT)).code, 'NOT_A_MODEL');
  });

  it('a file without any such object reads the same in both modes, with no ignored-objects note', async () => {
    const p = file();
    writeTorchZip(p, lightning([['callbacks', { dict: [] }]]));
    const c = await openCheckpoint(p, undefined, EXTRACT);
    await sameTensors(c, await openCheckpoint(p));
    assert.ok(!c.notes.some((x) => x.startsWith('ignored pickled objects')));
  });
});

describe('numpy scalars', () => {
  it('a best score pickled as numpy.float64 becomes metadata in extract-weights mode', async () => {
    const p = file();
    writeTorchZip(p, lightning([['best_score', numpyScalar('f8', f64(0.8125))]]));
    const e = await refused(p);
    assert.match(e.message, /imports numpy\.core\.multiarray\.scalar, which could run code/);
    assert.match(e.message, HINT);

    const c = await openCheckpoint(p, undefined, EXTRACT);
    assert.equal(c.metadata.best_score, '0.8125');
    assert.equal(c.tensors.length, 3);
    assert.ok(!c.notes.some((x) => x.startsWith('ignored pickled objects')), 'a decoded scalar is not left out');
  });

  it('numpy 2 module names, integer, unsigned, bool and float32 codes decode to their values', async () => {
    const i64 = new Uint8Array(new BigInt64Array([-(2n ** 60n)]).buffer);
    const p = file();
    writeTorchZip(
      p,
      lightning([
        ['step', numpyScalar('i8', i64, 'numpy._core.multiarray')],
        ['small', numpyScalar('i4', new Uint8Array(new Int32Array([-7]).buffer))],
        ['count', numpyScalar('u2', Uint8Array.of(0x34, 0x12))],
        ['flag', numpyScalar('b1', Uint8Array.of(1))],
        ['loss', numpyScalar('f4', f32([0.5]))],
      ]),
    );
    const c = await openCheckpoint(p, undefined, EXTRACT);
    assert.equal(c.metadata.step, String(-(2n ** 60n)));
    assert.equal(c.metadata.small, '-7');
    assert.equal(c.metadata.count, String(0x1234));
    assert.equal(c.metadata.flag, 'True');
    assert.equal(c.metadata.loss, '0.5');
  });

  it('scalars that are not simple stay opaque objects and are listed as ignored', async () => {
    const bigEndian: PyLiteral = {
      object: ['numpy.core.multiarray', 'scalar'],
      args: [{ object: ['numpy', 'dtype'], args: ['f8', false, true], state: { tuple: [3, '>', null, null, null, -1, -1, 0] } }, { bytes: f64(1) }],
    };
    const p = file();
    writeTorchZip(
      p,
      lightning([
        ['complex', numpyScalar('c16', new Uint8Array(16))],
        ['wrong_length', numpyScalar('f8', f32([1]))],
        ['big_endian', bigEndian],
      ]),
    );
    const c = await openCheckpoint(p, undefined, EXTRACT);
    for (const k of ['complex', 'wrong_length', 'big_endian']) assert.equal(c.metadata[k], undefined, k);
    const note = c.notes.find((x) => x.startsWith('ignored pickled objects'))!;
    assert.match(note, /numpy\.core\.multiarray\.scalar \(x3\)/);
    assert.match(note, /numpy\.dtype \(x3\)/);
    assert.ok(c.notes.some((x) => x.includes('"complex" (a numpy.core.multiarray.scalar object)')));
  });
});

describe('argparse.Namespace hyper-parameters', () => {
  it('are kept as an opaque object, reported, and never compared', async () => {
    const hparams = argparseNamespace([
      ['base_learning_rate', { float: 1e-4 }],
      ['config', 'configs/stable-diffusion/v1-inference.yaml'],
      ['gpus', '0,1'],
    ]);
    const p = file();
    writeTorchZip(p, lightning([['hparams', hparams], modelCheckpointCallbacks()]));
    const e = await refused(p);
    assert.match(e.message, /imports argparse\.Namespace/);
    assert.match(e.message, HINT);

    const c = await openCheckpoint(p, undefined, EXTRACT);
    const plain = file();
    writeTorchZip(plain, lightning([]));
    await sameTensors(c, await openCheckpoint(plain));
    assert.ok(c.notes.some((x) => x.includes('"hparams" (an argparse.Namespace object)')), c.notes.join(' | '));
    assert.ok(c.notes.some((x) => /ignored pickled objects: argparse\.Namespace \(x1\), pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint \(x1\)/.test(x)), c.notes.join(' | '));
  });
});

describe('names outside the inert list stay refused in extract-weights mode', () => {
  /** `{"state_dict": {...tensors}, "callbacks": {ModelCheckpoint: {}}, "x": module.name("touch ...")}` */
  function withPayload(module: string, name: string, protocol: number, legacy = false): Uint8Array {
    const base = checkpointPickle(lightning([modelCheckpointCallbacks()]), { protocol, legacy });
    // Replace the final SETITEMS ... STOP: add one more item before the dict is closed.
    const w = new PickleWriter(protocol);
    w.raw(base.subarray(0, base.length - 2));
    w.str('x').global(module, name).str('touch /tmp/modeldiff-pwned').tuple(1).op(OP.REDUCE);
    w.op(OP.SETITEMS).stop();
    return w.toBytes();
  }

  for (const [module, name] of [
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['__builtin__', 'eval'],
    ['subprocess', 'Popen'],
    ['numpy.core.multiarray', '_reconstruct'],
    ['pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint.__init__'],
  ] as const) {
    it(`${module}.${name} beside a ModelCheckpoint key`, async () => {
      const shown = module === '__builtin__' ? `builtins.${name}` : `${module}.${name}`;
      const p = file();
      writeTorchZip(p, { tensors: tensors() }, { pickle: withPayload(module, name, 2) });
      for (const opts of [EXTRACT, {}]) {
        const e = await refused(p, opts);
        assert.equal(e.code, 'PT_UNSAFE_GLOBAL');
        assert.match(e.message, new RegExp(`imports ${shown.replace(/\./g, '\\.')}, which could run code$`));
      }
      assert.equal(existsSync('/tmp/modeldiff-pwned'), false);
    });
  }

  it('posix.system through STACK_GLOBAL (protocol 4), in a legacy file', async () => {
    const p = file('pt');
    writeTorchLegacy(p, { tensors: tensors() }, { object: withPayload('posix', 'system', 4, true) });
    const e = await refused(p, EXTRACT);
    assert.equal(e.code, 'PT_UNSAFE_GLOBAL');
    assert.match(e.message, /imports posix\.system/);
  });

  it('an opaque object is never called, and a class reference never gets state', async () => {
    const call = new PickleWriter(2).proto();
    call.op(OP.EMPTY_DICT).str('x').global('argparse', 'Namespace').tuple(0).op(0x81 /* NEWOBJ */).str('ls').tuple(1).op(OP.REDUCE).op(OP.SETITEM).stop();
    const p1 = file();
    writeTorchZip(p1, { tensors: [] }, { pickle: call.toBytes() });
    const e1 = await refused(p1, EXTRACT);
    assert.equal(e1.code, 'PT_UNSUPPORTED');
    assert.match(e1.message, /calls an argparse\.Namespace object, which is not a function/);

    const build = new PickleWriter(2).proto();
    build.op(OP.EMPTY_DICT).str('x').global('argparse', 'Namespace').op(OP.EMPTY_DICT).op(OP.BUILD).op(OP.SETITEM).stop();
    const p2 = file();
    writeTorchZip(p2, { tensors: [] }, { pickle: build.toBytes() });
    assert.equal((await refused(p2, EXTRACT)).code, 'PT_INVALID');
  });
});

describe('opaque objects never become tensors (C3)', () => {
  it('an opaque object where a tensor belongs in state_dict is a reported non-tensor entry', async () => {
    const p = file();
    writeTorchZip(p, { ...lightning([]), extraEntries: [['model.diffusion_model.input_blocks.0.0.weight', argparseNamespace([['shape', [320, 4, 3, 3]]])]] });
    const c = await openCheckpoint(p, undefined, EXTRACT);
    assert.deepEqual(c.tensors.map((t) => t.name), tensors().map((t) => t.name));
    assert.ok(c.notes.some((x) => x.includes('1 entry is not tensors and not compared: "model.diffusion_model.input_blocks.0.0.weight" (an argparse.Namespace object)')), c.notes.join(' | '));
  });

  it('an opaque object given to a tensor rebuild function as its storage is refused', async () => {
    const w = new PickleWriter(2).proto();
    w.op(OP.EMPTY_DICT).str('w').global('torch._utils', '_rebuild_tensor_v2').mark();
    w.global('argparse', 'Namespace').tuple(0).op(0x81 /* NEWOBJ */);
    w.int(0).int(2).tuple(1).int(1).tuple(1).bool(false).global('collections', 'OrderedDict').tuple(0).op(OP.REDUCE);
    w.op(OP.TUPLE).op(OP.REDUCE).op(OP.SETITEM).stop();
    const p = file();
    writeTorchZip(p, { tensors: [] }, { pickle: w.toBytes() });
    const e = await refused(p, EXTRACT);
    assert.equal(e.code, 'PT_INVALID');
    assert.match(e.message, /a tensor is built on an argparse\.Namespace object, not a storage/);
  });
});
