// Extract-weights mode under hostile input (research note P29): the inert names are the only difference from the
// default allow-list, their objects are never called, and the memo/nesting tricks of P19-P23 stay harmless when
// they go through opaque objects.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { PickleWriter } from '../fixtures/pickleWriter';
import { callPickle, f32, rebuildV2, storage, zipWithPickle } from './craft';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const EXTRACT = { extractWeights: true };
const zip = (name: string, pickle: Uint8Array) => sb.file(`${name}.ckpt`, zipWithPickle(pickle, [storage('0', 'F32', f32([1, 2]))]));

/** `{"w": <tensor>, "hp": <value emitted by body>}`, protocol 2. */
const withValue = (body: (w: PickleWriter) => void) => {
  const w = new PickleWriter(2).proto();
  w.op(OP.EMPTY_DICT).mark().str('w');
  rebuildV2(w);
  w.str('hp');
  body(w);
  w.op(OP.SETITEMS).stop();
  return w.toBytes();
};

const namespace = (w: PickleWriter) => w.global('argparse', 'Namespace').tuple(0).op(OP.NEWOBJ);

describe('P29 extract-weights mode', () => {
  it('code-running globals are refused exactly as in the default mode', async () => {
    for (const [module, name, protocol] of [
      ['os', 'system', 2],
      ['posix', 'system', 2],
      ['nt', 'system', 4],
      ['builtins', 'eval', 2],
      ['builtins', 'exec', 4],
      ['builtins', 'getattr', 2],
      ['subprocess', 'Popen', 2],
      ['subprocess', 'check_output', 4],
      ['torch', 'load', 2],
      ['numpy', 'load', 2],
      ['numpy.core.multiarray', '_reconstruct', 2],
      ['argparse', 'ArgumentParser', 2],
      ['pytorch_lightning', 'Trainer', 2],
      ['omegaconf', 'OmegaConf', 2],
    ] as const) {
      const path = zip(`p29-${module}-${name}`, callPickle(module, name, protocol));
      await expectRefused(sb, path, 'PT_UNSAFE_GLOBAL', new RegExp(`imports ${module}\\.${name}, which could run code$`), EXTRACT);
    }
    assert.equal(existsSync('/tmp/modeldiff-pwned'), false);
  });

  it('a payload inside the arguments or the state of an inert object is refused when its GLOBAL is read', async () => {
    const payload = (w: PickleWriter) => w.global('os', 'system').str('touch /tmp/modeldiff-pwned').tuple(1).op(OP.REDUCE);
    const inState = withValue((w) => {
      namespace(w);
      w.op(OP.EMPTY_DICT).str('cmd');
      payload(w);
      w.op(OP.SETITEM).op(OP.BUILD);
    });
    await expectRefused(sb, zip('p29-state', inState), 'PT_UNSAFE_GLOBAL', /imports os\.system/, EXTRACT);
    const inArgs = withValue((w) => {
      w.global('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint');
      payload(w);
      w.tuple(1).op(OP.REDUCE);
    });
    await expectRefused(sb, zip('p29-args', inArgs), 'PT_UNSAFE_GLOBAL', /imports os\.system/, EXTRACT);
    assert.equal(existsSync('/tmp/modeldiff-pwned'), false);
  });

  it('memo expansion through opaque objects: 40 levels, each holding the previous one twice, is counted once each', async () => {
    const pickle = withValue((w) => {
      namespace(w);
      let prev = w.put();
      for (let i = 1; i < 40; i++) {
        w.op(OP.POP).global('argparse', 'Namespace');
        w.get(prev).get(prev).tuple(2).op(OP.NEWOBJ);
        prev = w.put();
      }
    });
    const o = await expectOpened(sb, zip('p29-laughs', pickle), EXTRACT);
    assert.deepEqual(o.tensors.map((t) => t.name), ['w']);
    assert.ok(o.notes.some((n) => n.startsWith('ignored pickled objects: argparse.Namespace (x40)')), o.notes.join(' | '));
  });

  it('an opaque object whose state holds itself, and state nested 100 000 lists deep', async () => {
    const cycle = withValue((w) => {
      namespace(w);
      const self = w.put();
      w.op(OP.EMPTY_DICT).str('self').get(self).op(OP.SETITEM).op(OP.BUILD);
    });
    const c = await expectOpened(sb, zip('p29-cycle', cycle), EXTRACT);
    assert.ok(c.notes.some((n) => n.startsWith('ignored pickled objects: argparse.Namespace (x1)')));

    const depth = 100_000;
    const deep = withValue((w) => {
      namespace(w);
      for (let i = 0; i < depth; i++) w.op(OP.EMPTY_LIST);
      for (let i = 1; i < depth; i++) w.op(OP.APPEND);
      w.op(OP.BUILD);
    });
    const d = await expectOpened(sb, zip('p29-deep', deep), EXTRACT);
    assert.ok(d.notes.some((n) => n.startsWith('ignored pickled objects: argparse.Namespace (x1)')));
  });

  it('state keys such as __proto__ stay data', async () => {
    const pickle = withValue((w) => {
      namespace(w);
      w.op(OP.EMPTY_DICT).mark().str('__proto__').op(OP.EMPTY_DICT).str('constructor').str('x').str('polluted').bool(true).op(OP.SETITEMS).op(OP.BUILD);
    });
    const o = await expectOpened(sb, zip('p29-proto', pickle), EXTRACT);
    assert.deepEqual(o.tensors.map((t) => t.name), ['w']);
  });
});
