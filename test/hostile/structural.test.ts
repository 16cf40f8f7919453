// Checkpoint structure (research note §7.5, C1-C4): Lightning nesting, odd state dicts, shared storages.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { PickleWriter } from '../fixtures/pickleWriter';
import { contiguousTensors, torchZipBytes, type TorchCheckpoint } from '../fixtures/torchWriter';
import { f32, rebuildV2, smallCheckpoint, zipWithPickle, storage } from './craft';
import { expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

const ckptFile = (name: string, ckpt: TorchCheckpoint) => sb.file(`${name}.ckpt`, torchZipBytes(ckpt).bytes);

describe('structure of the saved object', () => {
  it('C1 a full Lightning checkpoint: state_dict extracted, scalars shown, optimizer state skipped', async () => {
    const base = smallCheckpoint();
    const ckpt: TorchCheckpoint = {
      ...base,
      lightning: {
        epoch: 3,
        globalStep: 470000,
        version: '1.4.2',
        more: [
          ['loops', { dict: [['fit_loop', { dict: [['epoch_progress', 3]] }]] }],
          ['callbacks', { dict: [] }],
          ['optimizer_states', [{ dict: [['state', { dict: [[0, { dict: [['step', 10]] }]] }], ['param_groups', [{ dict: [['lr', { float: 1e-4 }]] }]]] }]],
          ['lr_schedulers', []],
        ],
      },
    };
    const o = await expectOpened(sb, ckptFile('c1', ckpt), { readTensors: true });
    assert.deepEqual(o.tensors.map((t) => t.name), base.tensors.map((t) => t.name));
    assert.deepEqual({ ...o.metadata }, { epoch: '3', global_step: '470000', 'pytorch-lightning_version': '1.4.2' });
    const note = o.notes.find((n) => n.includes('Lightning'))!;
    assert.match(note, /not compared: "loops" \(a dict of 1\), "callbacks" \(a dict of 0\), "optimizer_states" \(a list of 1\), "lr_schedulers" \(a list of 0\)/);
  });

  it('C2 callbacks keyed by the ModelCheckpoint class: refused by default, naming it; an inert key in extract-weights mode', async () => {
    const w = new PickleWriter(2).proto();
    w.op(OP.EMPTY_DICT).mark().str('state_dict').op(OP.EMPTY_DICT).str('w');
    rebuildV2(w);
    w.op(OP.SETITEM);
    w.str('callbacks').op(OP.EMPTY_DICT).global('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint').op(OP.EMPTY_DICT).op(OP.SETITEM);
    w.op(OP.SETITEMS).stop();
    const path = sb.file('c2.ckpt', zipWithPickle(w.toBytes(), [storage('0', 'F32', f32([1, 2]))]));
    await expectRefused(sb, path, 'PT_UNSAFE_GLOBAL', /imports pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint, which could run code; .*--extract-weights/);
    const o = await expectOpened(sb, path, { extractWeights: true, readTensors: true });
    assert.deepEqual(o.tensors.map((t) => t.name), ['w']);
    assert.ok(o.notes.some((n) => n.includes('not compared: "callbacks" (a dict of 1)')), o.notes.join(' | '));
    assert.ok(o.notes.some((n) => n.startsWith('ignored pickled objects: pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint (x1)')), o.notes.join(' | '));
  });

  it('C3 state_dict that is not a dict, non-tensor entries, nested state_dict, flat dicts', async () => {
    // "state_dict" is a list: the top level is the state dict and the list is reported.
    const w = new PickleWriter(2).proto();
    w.op(OP.EMPTY_DICT).mark().str('state_dict').op(OP.EMPTY_LIST).str('w');
    rebuildV2(w);
    w.op(OP.SETITEMS).stop();
    const notDict = await expectOpened(sb, sb.file('c3-list.ckpt', zipWithPickle(w.toBytes(), [storage('0', 'F32', f32([1, 2]))])));
    assert.deepEqual(notDict.tensors.map((t) => t.name), ['w']);
    assert.ok(notDict.notes.some((n) => n.includes('"state_dict" (a list of 0)')));

    // NovelAI-style: a non-tensor "state_dict" entry inside the state dict, plus other scalars.
    const nai = smallCheckpoint();
    nai.extraEntries = [['state_dict', { dict: [] }], ['step', 12]];
    nai.lightning = { epoch: 0, globalStep: 1, version: '1.0' };
    const n = await expectOpened(sb, ckptFile('c3-nai', nai));
    assert.equal(n.tensors.length, 2);
    assert.ok(n.notes.some((x) => /2 entries are not tensors and not compared: "state_dict" \(a dict of 0\), "step" \(an int\)/.test(x)), n.notes.join('\n'));

    // A flat dict of tensors with no state_dict key.
    const flat = await expectOpened(sb, ckptFile('c3-flat', smallCheckpoint()));
    assert.equal(flat.tensors.length, 2);
    assert.deepEqual({ ...flat.metadata }, {});

    // A pickle of something that is not a dict at all.
    const list = new PickleWriter(2).proto().op(OP.EMPTY_LIST).stop().toBytes();
    await expectRefused(sb, sb.file('c3-notdict.ckpt', zipWithPickle(list)), 'NOT_A_MODEL', /holds a list of 0, not a dictionary of tensors/);
  });

  it('C4 storages shared by several tensors (tied weights, EMA copies, views) are accepted and reported', async () => {
    const [a] = contiguousTensors([{ name: 'model.diffusion_model.w', dtype: 'F32', shape: [2, 3], bytes: f32([1, 2, 3, 4, 5, 6]) }]);
    const ckpt: TorchCheckpoint = {
      tensors: [
        a!,
        { name: 'model_ema.diffusion_modelw', storage: a!.storage, shape: [2, 3] },
        { name: 'model.diffusion_model.w_t', storage: a!.storage, shape: [3, 2], strides: [1, 3] },
        { name: 'model.diffusion_model.row1', storage: a!.storage, offset: 3, shape: [3] },
      ],
    };
    const o = await expectOpened(sb, ckptFile('c4', ckpt), { readTensors: true });
    assert.equal(o.tensors[0]!.sha256, o.tensors[1]!.sha256);
    assert.deepEqual(o.tensors[2]!.strides, [1, 3]);
    assert.ok(o.notes.some((n) => /4 tensors share their storage/.test(n)));
  });
});
