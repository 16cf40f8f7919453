// The CLI on a CompVis-style Lightning .ckpt (callbacks keyed by ModelCheckpoint, a numpy best score, argparse
// hyper-parameters) and its safetensors twin: refused without --extract-weights, with a hint; identical with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { openCheckpoint } from '../../src/compute/readers/registry';
import { base, layout, materialize } from '../fixtures/synth';
import { argparseNamespace, contiguousTensors, numpyScalar, writeTorchZip, type PyLiteral } from '../fixtures/torchWriter';
import { tmpDir } from '../helpers/tmp';
import { readTensor } from '../unit/readers/readTensor';

const CLI = resolve(__dirname, '../../dist/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const dir = tmpDir();
const twin = join(dir, 'sd-v1.safetensors');
const ckpt = join(dir, 'sd-v1.ckpt');

before(async () => {
  materialize(base(layout('sd15', { scale: 32 }), 7), twin, { dtype: 'F16' });
  const s = await openCheckpoint(twin);
  const tensors = contiguousTensors(s.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: readTensor(t) })));
  const callbackState: PyLiteral = {
    dict: [
      ['monitor', 'val/loss_simple_ema'],
      ['best_model_score', numpyScalar('f8', new Uint8Array(new Float64Array([0.125]).buffer))],
      ['dirpath', 'logs/checkpoints'],
    ],
  };
  writeTorchZip(
    ckpt,
    {
      tensors,
      lightning: {
        epoch: 6,
        globalStep: 470000,
        version: '1.4.2',
        more: [
          ['callbacks', { dict: [[{ global: ['pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint'] }, callbackState]] }],
          ['hparams', argparseNamespace([['base_learning_rate', { float: 1e-4 }]])],
        ],
      },
    },
    { archiveName: 'archive' },
  );
});

test('compare without --extract-weights refuses the .ckpt and says how to opt in', () => {
  const r = cli('compare', twin, ckpt, '--out', join(dir, 'refused'));
  // one readable model of two: nothing to compare (exit 3), the refused file listed with its reason
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /nothing to compare: 1 readable model of 2 files/);
  assert.match(r.stderr, /sd-v1\.ckpt: refuses to load: the pickle imports pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint, which could run code; .*--extract-weights/);
});

test('compare --extract-weights finds the .ckpt identical to its safetensors twin', () => {
  const out = join(dir, 'out');
  const r = cli('compare', twin, ckpt, '--out', out, '--extract-weights');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /sd-v1\.(ckpt|safetensors) {2}vs {2}sd-v1\.(ckpt|safetensors)\n {6}identical: unet, te, vae/);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { models: { file: string; notes: string[]; metadata: Record<string, string> }[]; errors: unknown[] };
  assert.deepEqual(result.errors, []);
  const m = result.models.find((x) => x.file === 'sd-v1.ckpt')!;
  assert.ok(m.notes.some((n) => n.startsWith('ignored pickled objects: argparse.Namespace (x1), pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint (x1)')), m.notes.join(' | '));
  assert.equal(m.metadata.global_step, '470000');
});

test('pair and inspect take --extract-weights too', () => {
  const p = cli('pair', twin, ckpt, '--extract-weights');
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^unet +0 +0 +0\/\d+ +0 /m);
  assert.equal(cli('inspect', ckpt).status, 3);
  const i = cli('inspect', ckpt, '--extract-weights');
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, /note: ignored pickled objects: argparse\.Namespace \(x1\)/);
});

test('what re-opens the files after the comparison (health, hashes, report) reads them the same way', () => {
  const out = join(dir, 'out-hashes');
  const cache = join(dir, 'hashes.json');
  const r = cli('compare', twin, ckpt, '--out', out, '--extract-weights', '--hashes', '--cache', cache);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    options: { extractWeights?: boolean };
    models: { file: string; hashes?: { components: Record<string, string> | null } }[];
  };
  assert.equal(result.options.extractWeights, true, 'the option is recorded in result.json');
  const comps = (f: string) => result.models.find((m) => m.file === f)!.hashes!.components!;
  for (const c of ['unet', 'te', 'vae']) assert.equal(comps('sd-v1.ckpt')[c], comps('sd-v1.safetensors')[c], `${c}: same content hash in both containers`);
  const rep = cli('report', out, '--quiet', '--cache', cache);
  assert.equal(rep.status, 0, rep.stderr);
  const analysis = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as { health: { file: string; error?: string; findings: { message: string }[] }[] };
  const h = analysis.health.find((x) => x.file === 'sd-v1.ckpt')!;
  assert.equal(h.error, undefined);
  assert.ok(!h.findings.some((f) => /extract-weights|refuses/.test(f.message)), JSON.stringify(h.findings));
});
