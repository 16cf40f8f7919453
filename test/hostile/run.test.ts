/**
 * Issue 9's hostile files in one `modeldiff compare` run beside nine good models, in a process with a bounded heap
 * and a time limit: each hostile file is listed in `errors` with its reason, the good ones are compared (exit 1),
 * where before one of them ended the run ("Invalid string length", an OOM abort, a hang on a FIFO).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import type { CompareResult } from '../../src/shared/result';
import { writeSafetensors } from '../fixtures/safetensorsWriter';
import { writeFaultModels } from '../faults/fixture';
import { tmpDir } from '../helpers/tmp';
import { f32, rebuildV2, stateDictPickle, storage, zipWithPickle } from './craft';

const CLI = resolve(__dirname, '../../dist/cli.js');

test('a 50 MB tensor name, a broadcast view of 2^51 elements, 400k tensors and a FIFO among nine good models', () => {
  const dir = tmpDir('modeldiff-hostile-run-');
  const good = writeFaultModels(dir, Array.from({ length: 9 }, (_, i) => `good${i}.safetensors`), { tensors: 2, elements: 4096 });
  writeSafetensors(join(dir, 'long-name.safetensors'), [{ name: 'x'.repeat(50 * 1024 * 1024), dtype: 'F32', shape: [1], data: f32([1]) }]);
  writeFileSync(join(dir, 'broadcast.pt'), zipWithPickle(stateDictPickle((w) => rebuildV2(w, { numel: 1, size: [2 ** 31, 2 ** 20], stride: [0, 0] })), [storage('0', 'F32', f32([7]))]));
  writeSafetensors(
    join(dir, 'many.safetensors'),
    Array.from({ length: 400_000 }, (_, i) => ({ name: `t${i}`, dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) })),
  );
  execFileSync('mkfifo', [join(dir, 'fifo.safetensors')]);

  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, ['--max-old-space-size=1024', CLI, 'compare', dir, '--out', out, '--workers', '2', '--quiet'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 1, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as CompareResult;
  assert.deepEqual(result.models.map((m) => m.path), good);
  assert.equal(result.pairs.length, 36);
  const errors = Object.fromEntries(result.errors.map((e) => [e.file, `${e.code}: ${e.message}`]));
  assert.deepEqual(Object.keys(errors).sort(), ['broadcast.pt', 'fifo.safetensors', 'long-name.safetensors', 'many.safetensors']);
  assert.match(errors['long-name.safetensors']!, /^MODEL_LIMIT: has a tensor name of 52428800 characters/);
  assert.match(errors['broadcast.pt']!, /^MODEL_LIMIT: its tensors claim 9007199254740992 bytes/);
  assert.match(errors['many.safetensors']!, /^MODEL_LIMIT: holds more than 100000 tensors/);
  assert.match(errors['fifo.safetensors']!, /^NOT_A_MODEL: is a named pipe/);
  assert.ok(readFileSync(join(out, 'result.json')).length < 1024 * 1024, 'no copy of the name in result.json');
});
