/**
 * Permission denied, on the input side (a model file, a folder of models) and the output side, through the CLI. Run
 * as root, the CLI runs as `nobody` (root reads everything); as another user, directly.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { compareModels, type CompareResult } from '../../src/compute';
import { tmpDir } from '../helpers/tmp';
import { assertNoDebris, assertSameNumbers, assertWhole, writeFaultModels } from './fixture';

const CLI = resolve(__dirname, '../../dist/cli.js');
const NOBODY = 65534;

function cli(...args: string[]) {
  const opts: SpawnSyncOptions = { encoding: 'utf8' };
  if (process.getuid?.() === 0) Object.assign(opts, { uid: NOBODY, gid: NOBODY });
  return spawnSync(process.execPath, [CLI, ...args], opts) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
}

describe('permission denied', () => {
  const root = tmpDir('modeldiff-perm-');
  let good: string[] = [];
  let locked = '';
  let lockedFolder = '';
  let clean: CompareResult;
  before(async () => {
    chmodSync(root, 0o755);
    const models = join(root, 'models');
    mkdirSync(models);
    good = writeFaultModels(models, ['a.safetensors', 'b.safetensors', 'c.safetensors']);
    locked = writeFaultModels(models, ['locked.safetensors'])[0]!;
    chmodSync(locked, 0o000);
    lockedFolder = join(root, 'locked-folder');
    mkdirSync(lockedFolder);
    writeFaultModels(lockedFolder, ['d.safetensors']);
    chmodSync(lockedFolder, 0o000);
    mkdirSync(join(root, 'outs'));
    chmodSync(join(root, 'outs'), 0o777);
    clean = await compareModels(good, { outDir: join(root, 'clean'), workers: 0 });
  });

  it('an unreadable model and an unreadable folder among the inputs are listed in errors; the others are compared; exit 1', () => {
    const out = join(root, 'outs', 'run');
    const r = cli('compare', join(root, 'models'), lockedFolder, '--out', out, '--workers', '0', '--quiet');
    assert.equal(r.status, 1, r.stderr);
    const result = assertWhole(out);
    const errors = new Map(result.errors.map((e) => [e.file, e]));
    assert.deepEqual([...errors.keys()].sort(), ['locked-folder', 'locked.safetensors']);
    assert.match(errors.get('locked.safetensors')!.message, /permission denied/);
    assert.match(errors.get('locked-folder')!.message, /permission denied: the folder cannot be read/);
    assert.deepEqual(result.models.map((m) => m.path), good);
    assertSameNumbers(result, clean);
  });

  it('an output folder that cannot be created: refused before any work (exit 2), the path and the reason named, nothing left', () => {
    const readOnly = join(root, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const out = join(readOnly, 'out');
    const r = cli('compare', join(root, 'models'), '--out', out, '--workers', '0', '--quiet');
    if (process.getuid?.() !== 0 && r.status === 0) return; // a user who may write there after all (e.g. CAP_DAC_OVERRIDE)
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(readOnly), r.stderr);
    assert.match(r.stderr, /--out \S+ cannot be written: no permission to create files in \S+read-only \(EACCES\); pick another folder/);
    assert.ok(!existsSync(out));
    assertNoDebris(out);
  });
});
