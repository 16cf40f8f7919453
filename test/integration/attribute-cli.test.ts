/**
 * `modeldiff attribute` and `modeldiff compare --base` from the command line, on a generated SD 1.5 base, LoRAs of
 * every kind and a checkpoint merged from the base and two LoRAs at known strengths (0.8 and 0.45).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { validate } from '../helpers/jsonSchema';
import { tmpDir } from '../helpers/tmp';
import { makeSd15Fixture, type Sd15Fixture } from '../unit/lora/sd15Fixture';

const CLI = resolve(__dirname, '../../dist/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const dir = tmpDir('lora-cli-');
let fx: Sd15Fixture;
let loras: string;
before(() => {
  fx = makeSd15Fixture(dir);
  loras = join(dir, 'loras');
  mkdirSync(loras);
  for (const f of [fx.A, fx.B, fx.C, fx.D, fx.E]) copyFileSync(f.path, join(loras, basename(f.path)));
});

test('attribute --json recovers the strengths of the two merged LoRAs to 0.01; the others get 0', () => {
  const r = cli('attribute', fx.merged, '--base', fx.base, loras, '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { loras: { file: string; strength: number }[]; relResidual: number; explained: number; nonNegative: boolean };
  const by = new Map(j.loras.map((l) => [l.file, l.strength]));
  assert.equal(j.loras.length, 5);
  assert.ok(Math.abs(by.get(basename(fx.A.path))! - fx.strengths.A) < 0.01, `A: ${by.get(basename(fx.A.path))}`);
  assert.ok(Math.abs(by.get(basename(fx.B.path))! - fx.strengths.B) < 0.01, `B: ${by.get(basename(fx.B.path))}`);
  for (const f of [fx.C, fx.D, fx.E]) assert.ok(Math.abs(by.get(basename(f.path))!) < 0.01, `${f.path}: ${by.get(basename(f.path))}`);
  for (const s of by.values()) assert.ok(s >= 0, 'non-negative by default');
  assert.equal(j.nonNegative, true);
  assert.ok(j.relResidual < 1e-3, `relResidual ${j.relResidual}`);
  assert.ok(j.explained > 0.999);
});

test('attribute prints a table; --unconstrained fits without the sign constraint', () => {
  const r = cli('attribute', fx.merged, '--base', fx.base, fx.A.path, fx.B.path, '--unconstrained');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /strengths unconstrained/);
  assert.match(r.stdout, new RegExp(`${basename(fx.A.path).replace('.', '\\.')}\\s+0\\.8000`));
  assert.match(r.stdout, new RegExp(`${basename(fx.B.path).replace('.', '\\.')}\\s+0\\.4500`));
});

test('attribute: --help, usage errors (2), a file that is not a LoRA (1), an unreadable checkpoint (3)', () => {
  const h = cli('attribute', '--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^Usage: modeldiff attribute <checkpoint> --base/);
  assert.match(h.stdout, /--unconstrained/);
  assert.equal(cli('attribute', fx.merged, fx.A.path).status, 2, 'no --base');
  assert.equal(cli('attribute', fx.merged, '--base', fx.base).status, 2, 'no LoRA');
  const m = cli('attribute', fx.merged, '--base', fx.base, fx.A.path, '--memory', 'lots');
  assert.equal(m.status, 2);
  assert.match(m.stderr, /--memory is a whole number/);
  assert.equal(cli('attribute', fx.merged, '--base', fx.base, fx.A.path, '--strength').status, 2, 'unknown option');
  // the checkpoint itself among the LoRAs is skipped; another checkpoint named on its own is an error
  const itself = cli('attribute', fx.merged, '--base', fx.base, fx.A.path, fx.merged);
  assert.equal(itself.status, 0, itself.stderr);
  const other = join(dir, 'other.safetensors');
  copyFileSync(fx.merged, other);
  const bad = cli('attribute', fx.merged, '--base', fx.base, fx.A.path, other);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /other\.safetensors: not a LoRA/);
  const broken = join(dir, 'broken.safetensors');
  writeFileSync(broken, 'not a model');
  const b = cli('attribute', broken, '--base', fx.base, fx.A.path);
  assert.equal(b.status, 3);
  assert.match(b.stderr, /broken\.safetensors/);
});

test('compare --base on LoRAs and checkpoints: result.json with LoRA models and distances to the merged checkpoint', () => {
  const out = join(dir, 'out');
  const r = cli('compare', fx.A.path, fx.B.path, fx.merged, '--base', fx.base, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /SD 1\.x LoRA \(kohya/);
  assert.match(r.stdout, /measured from the base/);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(result.models.filter((m: { lora?: unknown }) => m.lora).length, 2);
  assert.deepEqual(validate(JSON.parse(readFileSync(resolve(__dirname, '../../schema/result.schema.json'), 'utf8')), result), []);
  const folder = cli('compare', loras, '--out', join(dir, 'out-loras'));
  assert.equal(folder.status, 0, folder.stderr);
  assert.deepEqual(validate(JSON.parse(readFileSync(resolve(__dirname, '../../schema/result.schema.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'out-loras', 'result.json'), 'utf8'))), []);
  const noBase = cli('compare', fx.A.path, fx.merged, '--out', join(dir, 'out2'));
  assert.equal(noBase.status, 2);
  assert.match(noBase.stderr, /--base <checkpoint>/);
});
