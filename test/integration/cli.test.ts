import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { makeFolder, zooSpec } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';
import { validate } from '../helpers/jsonSchema';

const CLI = resolve(__dirname, '../../dist/cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const dir = tmpDir();
const manifest = makeFolder(join(dir, 'models'), zooSpec('sd15'), {
  only: ['base.safetensors', 'ft_unet.safetensors', 'base_fp32.safetensors', 'animefull_nai.safetensors', 'no_vae.safetensors'],
});
const out = join(dir, 'out');

test('compare writes the three outputs, prints a summary, no progress bar off a terminal, exit 0', () => {
  const r = cli('compare', manifest.dir, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'stderr is not a TTY: no progress bar');
  assert.match(r.stdout, /5 models, 10 pairs/);
  assert.match(r.stdout, /animefull_nai\.safetensors {2}vs {2}base\.safetensors\n {6}identical: unet, te, vae, ema, other/);
  assert.match(r.stdout, /base\.safetensors {2}vs {2}base_fp32\.safetensors\n(?: {6}.*\n)*? {6}unet {3}equal values on \d+ shared tensors \(\d+ dtypes differ\)/);
  assert.match(r.stdout, /base\.safetensors {2}vs {2}no_vae\.safetensors\n(?: {6}.*\n)*? {6}vae {4}only in A/);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  const schema = JSON.parse(readFileSync(resolve(__dirname, '../../schema/result.schema.json'), 'utf8'));
  assert.deepEqual(validate(schema, result), []);
  const map = JSON.parse(readFileSync(join(out, 'model_map_v2.json'), 'utf8'));
  assert.deepEqual(Object.keys(map).sort(), ['dm', 'ml']);
  assert.equal(map.dm.vae.length, 5);
});

test('layers prints and exports a pair table; names resolve by stem, index or path', () => {
  const t = cli('layers', out, 'base', 'ft_unet', '--sort', 'l2', '--top', '3');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /^base\.safetensors {2}vs {2}ft_unet\.safetensors/);
  assert.equal(t.stdout.trim().split(/\r?\n/).length, 5);
  assert.match(t.stdout, /model\.diffusion_model\./);
  const csv = cli('layers', out, '1', '3', '--csv');
  assert.equal(csv.status, 0, csv.stderr);
  const lines = csv.stdout.trim().split(/\r?\n/);
  assert.equal(lines[0], 'key,component,l2,cosine');
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(lines.length - 1, result.layers.keys.length);
  const file = join(dir, 'pair.csv');
  assert.equal(cli('layers', out, 'base.safetensors', 'ft_unet', '--csv', file, '--component', 'unet').status, 0);
  const rows = readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1);
  assert.ok(rows.length > 100 && rows.every((l) => l.split(',')[1] === 'unet'));
  assert.ok(rows.some((l) => Number(l.split(',')[2]) > 0));
});

test('usage errors exit 2 with a reason; bad files exit 1 and the rest are compared', () => {
  const u = cli('compare', manifest.dir);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--out <dir> is required/);
  assert.match(u.stderr, /^Usage: modeldiff compare /m);
  assert.equal(cli('layers', out, 'base', 'nonexistent').status, 2);
  assert.equal(cli('frobnicate').status, 2);
  writeFileSync(join(manifest.dir, 'broken.safetensors'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  const r = cli('compare', manifest.dir, '--out', join(dir, 'out2'));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /Errors\n {2}broken\.safetensors: /);
  assert.match(r.stdout, /5 models, 10 pairs/);
});

test('pair drill-down reports L1, changed elements and max |diff| that agree with the float64 oracle', async () => {
  const { comparePair, loadModel } = await import('../oracle/float64');
  const a = join(manifest.dir, 'base.safetensors');
  const b = join(manifest.dir, 'ft_unet.safetensors');
  const csv = join(dir, 'drill.csv');
  const r = cli('pair', a, b, '--csv', csv);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^unet .* 0\.99/m);
  const A = loadModel(a);
  const B = loadModel(b);
  const o = comparePair(A, B);
  const rows = readFileSync(csv, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  let checked = 0;
  for (const [key, , elements, l2, l1, l0, max] of rows) {
    const ta = A.tensors.get(key!)!.values;
    const tb = B.tensors.get(key!)!.values;
    let e1 = 0;
    let e0 = 0;
    let em = 0;
    for (let i = 0; i < ta.length; i++) {
      const d = Math.abs(ta[i]! - tb[i]!);
      e1 += d;
      if (ta[i] !== tb[i]) e0++;
      em = Math.max(em, d);
    }
    assert.equal(Number(elements), ta.length);
    assert.equal(Number(l0), e0, `${key} L0`);
    assert.ok(Math.abs(Number(l1) - e1) <= 1e-9 * Math.max(e1, 1e-30), `${key} L1 ${l1} vs ${e1}`);
    assert.equal(Number(max), em, `${key} max`);
    assert.ok(Math.abs(Number(l2) - Math.sqrt(o.keys.get(key!)!.d2)) <= 1e-9 * Math.sqrt(o.keys.get(key!)!.d2) + 1e-300, `${key} L2`);
    checked++;
  }
  assert.ok(checked > 1000);
});

test('inspect shows architecture, components and notes', () => {
  const r = cli('inspect', join(manifest.dir, 'animefull_nai.safetensors'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /SD 1\.x/);
  assert.match(r.stdout, /NovelAI-style text encoder names/);
  assert.match(r.stdout, /^ {2}te +197 tensors/m);
});
