// Cross-check against real PyTorch when /usr/bin/python3 has it (Debian's python3-torch): files written by
// torch.save (zip and legacy) read as torch reads them, and files written by the test writer load in torch with
// weights_only=True. Skipped, with the reason, when torch is not installed; the product never needs Python.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/compute/readers/registry';
import { tmpDir } from '../helpers/tmp';
import { contiguousTensors, writeTorchLegacy, writeTorchZip, type TorchCheckpoint } from '../fixtures/torchWriter';
import { readTensor } from '../unit/readers/readTensor';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
const skip = probe.status === 0 ? false : `${PYTHON} cannot import torch (apt-get install python3-torch to run this cross-check)`;
const dir = tmpDir();

function python(script: string): string {
  const p = join(dir, `script-${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(p, script);
  const r = spawnSync(PYTHON, [p], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  return r.stdout;
}

const DUMP = `
import json, torch
def dump(sd):
    out = {}
    for k, t in sd.items():
        if isinstance(t, torch.Tensor):
            c = t.detach().contiguous()
            out[k] = {"dtype": str(c.dtype), "shape": list(c.shape), "hex": c.reshape(-1).view(torch.uint8).numpy().tobytes().hex()}
    return out
`;

const DTYPE_NAMES: Record<string, string> = {
  'torch.float32': 'F32',
  'torch.float16': 'F16',
  'torch.bfloat16': 'BF16',
  'torch.float64': 'F64',
  'torch.int64': 'I64',
  'torch.int32': 'I32',
  'torch.int16': 'I16',
  'torch.int8': 'I8',
  'torch.uint8': 'U8',
  'torch.bool': 'BOOL',
  'torch.complex64': 'C64',
};

describe('cross-check with PyTorch', { skip }, () => {
  it('files written by torch.save (zip and legacy) read exactly as torch reads them', async () => {
    python(`${DUMP}
import collections
torch.manual_seed(0)
base = torch.randn(6, 8)
sd = collections.OrderedDict()
sd["model.diffusion_model.w"] = base
sd["model.diffusion_model.w_t"] = base.t()
sd["model.diffusion_model.row"] = base[2]
sd["model.diffusion_model.col"] = base[:, 3]
sd["model.diffusion_model.strided"] = base[1::2, ::3]
sd["model.diffusion_model.param"] = torch.nn.Parameter(torch.randn(3, 3))
sd["model.diffusion_model.ema_copy"] = base
sd["cond_stage_model.half"] = torch.randn(4, 5).half()
sd["cond_stage_model.bf16"] = torch.randn(7).bfloat16()
sd["cond_stage_model.position_ids"] = torch.arange(77).unsqueeze(0)
sd["first_stage_model.f64"] = torch.randn(2, 2).double()
sd["first_stage_model.i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
sd["first_stage_model.i16"] = torch.tensor([1, -2], dtype=torch.int16)
sd["first_stage_model.i8"] = torch.tensor([-1, 2], dtype=torch.int8)
sd["first_stage_model.u8"] = torch.tensor([200, 3], dtype=torch.uint8)
sd["first_stage_model.mask"] = torch.tensor([True, False, True])
sd["first_stage_model.c64"] = torch.randn(3, dtype=torch.complex64)
sd["first_stage_model.scalar"] = torch.tensor(1.5)
sd["first_stage_model.empty"] = torch.zeros(0, 4)
ckpt = {"epoch": 4, "global_step": 12345, "pytorch-lightning_version": "1.9.0", "state_dict": sd, "optimizer_states": [{"state": {}, "param_groups": [{"lr": 0.1}]}]}
torch.save(ckpt, "torch_zip.ckpt")
torch.save(ckpt, "torch_legacy.ckpt", _use_new_zipfile_serialization=False)
torch.save(sd, "torch_protocol4.pt", pickle_protocol=4)
json.dump(dump(sd), open("expected.json", "w"))
`);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; hex: string }>;
    for (const name of ['torch_zip.ckpt', 'torch_legacy.ckpt', 'torch_protocol4.pt']) {
      const c = await openCheckpoint(join(dir, name));
      assert.deepEqual(c.tensors.map((t) => t.name), Object.keys(expected), name);
      for (const t of c.tensors) {
        const e = expected[t.name]!;
        assert.equal(t.dtype, DTYPE_NAMES[e.dtype], `${name} ${t.name} dtype`);
        assert.deepEqual(t.shape, e.shape, `${name} ${t.name} shape`);
        assert.equal(readTensor(t).toString('hex'), e.hex, `${name} ${t.name} bytes`);
      }
      if (name !== 'torch_protocol4.pt') {
        assert.deepEqual({ ...c.metadata }, { epoch: '4', global_step: '12345', 'pytorch-lightning_version': '1.9.0' }, name);
        assert.ok(c.notes.some((n) => n.includes('"optimizer_states" (a list of 1)')), name);
      }
      assert.ok(c.tensors.find((t) => t.name === 'model.diffusion_model.w_t')!.strides, `${name}: the transposed view is strided`);
    }
  });

  it('files written by the test writer load in torch with weights_only=True and hold the same values', async () => {
    const s = { key: '0', dtype: 'F32' as const, bytes: new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).buffer) };
    const ckpt: TorchCheckpoint = {
      tensors: [
        { name: 'a', storage: s, shape: [3, 4] },
        { name: 'a_t', storage: s, shape: [4, 3], strides: [1, 4], parameter: true },
        { name: 'row', storage: s, offset: 8, shape: [4] },
        ...contiguousTensors([{ name: 'h', dtype: 'F16', shape: [2], bytes: Uint8Array.of(0, 0x3c, 0, 0xc0) }]).map((t) => ({ ...t, storage: { ...t.storage, key: '1' } })),
      ],
      lightning: { epoch: 2, globalStep: 9, version: '1.4.2' },
    };
    writeTorchZip(join(dir, 'ours_zip.ckpt'), ckpt);
    writeTorchLegacy(join(dir, 'ours_legacy.ckpt'), ckpt);
    const out = python(`${DUMP}
for name in ["ours_zip.ckpt", "ours_legacy.ckpt"]:
    ckpt = torch.load(name, weights_only=True)
    print(json.dumps({"epoch": ckpt["epoch"], "global_step": ckpt["global_step"], "tensors": dump(ckpt["state_dict"])}))
`);
    for (const [i, line] of out.trim().split('\n').entries()) {
      const got = JSON.parse(line) as { epoch: number; global_step: number; tensors: Record<string, { shape: number[]; hex: string }> };
      assert.equal(got.epoch, 2);
      assert.equal(got.global_step, 9);
      const c = await openCheckpoint(join(dir, i === 0 ? 'ours_zip.ckpt' : 'ours_legacy.ckpt'));
      for (const t of c.tensors) {
        assert.deepEqual(t.shape, got.tensors[t.name]!.shape);
        assert.equal(readTensor(t).toString('hex'), got.tensors[t.name]!.hex, t.name);
      }
    }
  });

  it('a Lightning-style file saved by torch with callbacks keyed by a class, a numpy score and Namespace hparams', async () => {
    // A stand-in pytorch_lightning module (only its import path matters to pickle), imported by the writer only.
    python(`import os
os.makedirs("pytorch_lightning/callbacks", exist_ok=True)
for d in ["pytorch_lightning", "pytorch_lightning/callbacks"]:
    open(d + "/__init__.py", "w").close()
open("pytorch_lightning/callbacks/model_checkpoint.py", "w").write("class ModelCheckpoint:\\n    pass\\n")
`);
    python(`${DUMP}
import argparse, collections, sys
import numpy as np
sys.path.insert(0, ".")
from pytorch_lightning.callbacks.model_checkpoint import ModelCheckpoint
torch.manual_seed(1)
sd = collections.OrderedDict()
sd["model.diffusion_model.w"] = torch.randn(4, 6)
sd["model.diffusion_model.w_t"] = sd["model.diffusion_model.w"].t()
sd["cond_stage_model.half"] = torch.randn(3).half()
callbacks = {ModelCheckpoint: {"monitor": "val/loss_simple_ema", "best_model_score": torch.tensor(0.5), "best_model_path": "", "dirpath": "logs/checkpoints"}}
ckpt = {"epoch": 6, "global_step": 470000, "pytorch-lightning_version": "1.4.2", "state_dict": sd, "callbacks": callbacks,
        "best_score": np.float64(0.125), "hparams": argparse.Namespace(base_learning_rate=1e-4, gpus="0,"), "optimizer_states": [], "lr_schedulers": []}
torch.save(ckpt, "lightning_zip.ckpt")
torch.save(ckpt, "lightning_legacy.ckpt", _use_new_zipfile_serialization=False)
json.dump(dump(sd), open("lightning_expected.json", "w"))
`);
    const expected = JSON.parse(readFileSync(join(dir, 'lightning_expected.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; hex: string }>;
    for (const name of ['lightning_zip.ckpt', 'lightning_legacy.ckpt']) {
      const path = join(dir, name);
      await assert.rejects(openCheckpoint(path), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'PT_UNSAFE_GLOBAL');
        assert.match(e.message, /imports pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint, which could run code; .*--extract-weights/);
        return true;
      });
      const c = await openCheckpoint(path, undefined, { extractWeights: true });
      assert.deepEqual(c.tensors.map((t) => t.name), Object.keys(expected), name);
      for (const t of c.tensors) {
        assert.equal(t.dtype, DTYPE_NAMES[expected[t.name]!.dtype], `${name} ${t.name} dtype`);
        assert.equal(readTensor(t).toString('hex'), expected[t.name]!.hex, `${name} ${t.name} bytes`);
      }
      assert.equal(c.metadata.best_score, '0.125', name);
      assert.equal(c.metadata.global_step, '470000', name);
      assert.ok(c.notes.some((n) => n.startsWith('ignored pickled objects: argparse.Namespace (x1), pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint (x1);')), `${name}: ${c.notes.join(' | ')}`);
    }
  });
});
