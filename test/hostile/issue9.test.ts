/**
 * Hostile inputs of issue 9, at the reader: files that are not regular files, views whose cost is not in the file's
 * bytes, and the limits that keep one file from costing the run. Each opened in the sandbox (heap limit, timeout), so a
 * hang or an unbounded allocation fails its case instead of the test process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_TENSOR_NAME_LENGTH, MAX_TENSORS_PER_MODEL } from '../../src/compute/model/limits';
import { contiguousTensors, torchZipBytes, type TorchCheckpoint } from '../fixtures/torchWriter';
import { writeSafetensors } from '../fixtures/safetensorsWriter';
import { f32, rebuildV2, stateDictPickle, storage, zipWithPickle } from './craft';
import type { ErrorCode } from '../../src/shared/errors';
import { assertReadable, expectOpened, expectRefused, Sandbox } from './sandbox';

const sb = new Sandbox();
after(() => sb.close());

/** A folder model refused for a file inside it: the error names that file, and the message says which it is. */
async function expectRefusedInside(dir: string, inner: string, code: ErrorCode, message: RegExp): Promise<void> {
  const o = await sb.open(dir);
  assert.ok(!o.ok && 'error' in o, `expected a refusal, got ${JSON.stringify(o).slice(0, 200)}`);
  assert.equal(o.error.code, code, o.error.message);
  assert.equal(o.error.file, join(dir, inner), 'the error names the file inside the folder');
  assertReadable(o.error.message);
  assert.match(o.error.message, message);
}

/** A valid diffusers folder (model_index.json, unet/ with one tensor), then `spoil` applied to it. */
function diffusersFolder(name: string, spoil: (dir: string) => void): string {
  const dir = sb.path(name);
  mkdirSync(join(dir, 'unet'), { recursive: true });
  writeFileSync(join(dir, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}');
  writeSafetensors(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), [{ name: 'conv_in.weight', dtype: 'F32', shape: [2], data: f32([1, 2]) }]);
  spoil(dir);
  return dir;
}

describe('files that are not regular files are refused, never read or waited on', () => {
  it('a FIFO named x.safetensors (no writer ever comes)', async () => {
    const fifo = sb.path('x.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expectRefused(sb, fifo, 'NOT_A_MODEL', /is a named pipe \(FIFO\), not a regular file/);
  });

  it('a FIFO as model_index.json of a diffusers folder', async () => {
    const dir = diffusersFolder('fifo-index', (d) => {
      const index = join(d, 'model_index.json');
      execFileSync('rm', [index]);
      execFileSync('mkfifo', [index]);
    });
    await expectRefusedInside(dir, 'model_index.json', 'NOT_A_MODEL', /^model_index\.json: is a named pipe \(FIFO\)/);
  });

  it('model_index.json pointing at /dev/zero (it never ends)', async () => {
    const dir = diffusersFolder('zero-index', (d) => {
      execFileSync('rm', [join(d, 'model_index.json')]);
      symlinkSync('/dev/zero', join(d, 'model_index.json'));
    });
    await expectRefusedInside(dir, 'model_index.json', 'NOT_A_MODEL', /^model_index\.json: is a character device, not a regular file/);
  });

  it('UNet weights pointing at /dev/zero', async () => {
    const dir = diffusersFolder('zero-unet', (d) => {
      const weights = join(d, 'unet', 'diffusion_pytorch_model.safetensors');
      execFileSync('rm', [weights]);
      symlinkSync('/dev/zero', weights);
    });
    await expectRefusedInside(dir, 'unet/diffusion_pytorch_model.safetensors', 'NOT_A_MODEL', /^unet\/diffusion_pytorch_model\.safetensors: is a character device/);
  });

  it('/dev/zero named as a model', async () => {
    const link = sb.path('zero.ckpt');
    symlinkSync('/dev/zero', link);
    await expectRefused(sb, link, 'NOT_A_MODEL', /character device/);
  });
});

describe('cost follows the bytes in the file, never the size a view claims', () => {
  const one = storage('0', 'F32', f32([7]));
  const view = (name: string, size: number[], stride: number[]) => sb.file(`${name}.pt`, zipWithPickle(stateDictPickle((w) => rebuildV2(w, { numel: 1, size, stride })), [one]));

  it('a .pt of about a kilobyte holding a zero-stride view of 2^31 x 2^20 elements is refused before anything is read', async () => {
    const path = view('broadcast-2p51', [2 ** 31, 2 ** 20], [0, 0]);
    assert.ok(statSync(path).size < 2048, `${statSync(path).size} bytes`);
    await expectRefused(sb, path, 'MODEL_LIMIT', /its tensors claim 9007199254740992 bytes but the file holds \d+/);
  });

  it('the same with 2^32 elements (it used to run for minutes)', async () => {
    await expectRefused(sb, view('broadcast-2p32', [2 ** 16, 2 ** 16], [0, 0]), 'MODEL_LIMIT', /claim 17179869184 bytes/);
  });

  it('a small broadcast view stays readable: 64 x 64 copies of one stored number', async () => {
    const o = await expectOpened(sb, view('broadcast-small', [64, 64], [0, 0]), { readTensors: true });
    assert.equal(o.tensors[0]!.numel, 4096);
    const expected = new Float32Array(4096).fill(7);
    const { createHash } = await import('node:crypto');
    assert.equal(o.tensors[0]!.sha256, createHash('sha256').update(new Uint8Array(expected.buffer)).digest('hex'));
  });

  it('many tensors viewing one storage may claim at most 4 times the file (plus 64 MiB)', async () => {
    const big = storage('0', 'F32', new Uint8Array(4 * 1024 * 1024));
    const ckpt = (copies: number): TorchCheckpoint => ({ tensors: Array.from({ length: copies }, (_, i) => ({ name: `t${i}`, storage: big, shape: [1024 * 1024] })) });
    await expectOpened(sb, sb.file('alias-ok.pt', torchZipBytes(ckpt(16)).bytes));
    await expectRefused(sb, sb.file('alias-too-many.pt', torchZipBytes(ckpt(64)).bytes), 'MODEL_LIMIT', /views repeat the same stored bytes/);
  });
});

describe('limits that keep one file from costing the run', () => {
  it('a tensor name longer than the limit in a PyTorch file (a 50 MB name once ended a run with "Invalid string length")', async () => {
    const name = 'w'.repeat(500_000); // under the unpickler's own 1 MiB bound on a dict key
    const path = sb.file('long-name.pt', torchZipBytes({ tensors: contiguousTensors([{ name, dtype: 'F32', shape: [1], bytes: f32([1]) }]) }).bytes);
    const message = await expectRefused(sb, path, 'MODEL_LIMIT', /a tensor name of 500000 characters/);
    assert.ok(message.length < 300);
    const ok = 'w'.repeat(MAX_TENSOR_NAME_LENGTH);
    await expectOpened(sb, sb.file('longest-name.pt', torchZipBytes({ tensors: contiguousTensors([{ name: ok, dtype: 'F32', shape: [1], bytes: f32([1]) }]) }).bytes));
  });

  it('more tensors than a model may have, in a PyTorch file', async () => {
    const s = storage('0', 'F32', f32([1]));
    const ckpt: TorchCheckpoint = { tensors: Array.from({ length: MAX_TENSORS_PER_MODEL + 1 }, (_, i) => ({ name: `t${i}`, storage: s, shape: [1] })) };
    await expectRefused(sb, sb.file('many.pt', torchZipBytes(ckpt).bytes), 'MODEL_LIMIT', /more than 100000 tensors/);
  });

  it('more tensors than a model may have, across the files of a diffusers folder', async () => {
    const dir = diffusersFolder('many-diffusers', (d) => {
      const tensors = Array.from({ length: MAX_TENSORS_PER_MODEL / 2 + 1 }, (_, i) => ({ name: `extra.${i}`, dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) }));
      writeSafetensors(join(d, 'unet', 'diffusion_pytorch_model.safetensors'), tensors);
      mkdirSync(join(d, 'vae'));
      copyFileSync(join(d, 'unet', 'diffusion_pytorch_model.safetensors'), join(d, 'vae', 'diffusion_pytorch_model.safetensors'));
    });
    await expectRefused(sb, dir, 'MODEL_LIMIT', /holds 100002 tensors, more than 100000/);
  });
});
