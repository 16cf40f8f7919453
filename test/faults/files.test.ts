/**
 * Faults injected into the input files during a run (truncated, deleted, rewritten in place with the same size,
 * replaced, changed after its last read), in the calling thread and in the worker pool, and inputs that are not
 * regular files (FIFO, /dev/zero) or are given twice: the faulty file is listed in `errors` with its name and the
 * reason, the good models' numbers are exactly those of a run without the fault, and the output folder is whole.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, openSync, closeSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import { compareModels, type CompareResult, type Progress } from '../../src/compute';
import { tmpDir } from '../helpers/tmp';
import { assertGoodModelsUnchanged, assertSameNumbers, assertWhole, writeFaultModels } from './fixture';

const root = tmpDir('modeldiff-faults-');

type Fault = (victim: string) => void;

/** Same size, other bytes: the tensor data of the victim overwritten in place. */
const rewriteSameSize: Fault = (victim) => {
  const fd = openSync(victim, 'r+');
  try {
    writeSync(fd, Buffer.alloc(64 * 1024, 0x3c), 0, 64 * 1024, 4096);
  } finally {
    closeSync(fd);
  }
};

const FAULTS: { name: string; fault: Fault; reason: RegExp }[] = [
  { name: 'truncated', fault: (v) => truncateSync(v, 4096), reason: /changed while it was read|truncated/ },
  { name: 'deleted', fault: (v) => unlinkSync(v), reason: /deleted or moved while it was read/ },
  { name: 'rewritten in place with the same size', fault: rewriteSameSize, reason: /changed while it was read/ },
  {
    name: 'replaced by another file at its path',
    fault: (v) => {
      copyFileSync(v, v + '.new');
      renameSync(v + '.new', v);
    },
    reason: /changed while it was read/,
  },
];

/** A run of `models` into a fresh folder, `inject` called once at the first progress report that `when` accepts. */
async function faultyRun(inputs: string[], out: string, workers: number, when: (p: Progress) => boolean, inject: () => void): Promise<{ result: CompareResult; injected: boolean }> {
  let injected = false;
  const result = await compareModels(inputs, {
    outDir: out,
    workers,
    onProgress: (p) => {
      if (!injected && when(p)) {
        injected = true;
        inject();
      }
    },
  });
  return { result, injected };
}

const atStart = (p: Progress) => p.phase === 'comparing';
const afterLastRead = (p: Progress) => p.phase === 'comparing' && p.bytesTotal > 0 && p.bytesDone === p.bytesTotal;
const midRun = (p: Progress) => p.phase === 'comparing' && p.bytesDone > 0 && p.bytesDone < p.bytesTotal;

describe('files that change during a run', () => {
  const dir = join(root, 'small');
  const names = ['a.safetensors', 'b.safetensors', 'c.safetensors', 'victim.safetensors'];
  let paths: string[] = [];
  let good: string[] = [];
  const clean = new Map<number, CompareResult>();
  before(async () => {
    mkdirSync(dir, { recursive: true });
    paths = writeFaultModels(dir, names);
    good = paths.slice(0, 3);
    copyFileSync(paths[3]!, join(root, 'victim.pristine'));
    for (const workers of [0, 2]) clean.set(workers, await compareModels(good, { outDir: join(root, `clean${workers}`), workers }));
  });

  for (const { name, fault, reason } of FAULTS) {
    for (const workers of [0, 2]) {
      for (const [moment, when] of [
        ['as the engine starts', atStart],
        ['after its last read, before the results are kept', afterLastRead],
      ] as const) {
        it(`${name} ${moment} (workers: ${workers}): listed in errors, the others compared exactly as without the fault`, async () => {
          copyFileSync(join(root, 'victim.pristine'), paths[3]!);
          const out = join(root, `out-${name.replace(/\W+/g, '-')}-${workers}-${moment === 'as the engine starts' ? 'start' : 'end'}`);
          const { result, injected } = await faultyRun([dir], out, workers, when, () => fault(paths[3]!));
          assert.ok(injected, 'the fault was injected');
          assert.equal(result.errors.length, 1, JSON.stringify(result.errors));
          const e = result.errors[0]!;
          assert.equal(e.file, 'victim.safetensors');
          assert.equal(e.path, paths[3]);
          assert.equal(e.code, 'FILE_CHANGED', e.message);
          assert.match(e.message, reason);
          assertGoodModelsUnchanged(result, out, clean.get(workers)!, good);
          assert.deepEqual(assertWhole(out).errors, JSON.parse(JSON.stringify(result.errors)), 'result.json lists it too');
        });
      }
    }
  }
});

describe('a file that changes while the worker pool is in the middle of the run', () => {
  // Large enough for several engine tasks, so that others are in flight when one fails.
  const dir = join(root, 'pool');
  const names = ['a.safetensors', 'b.safetensors', 'c.safetensors', 'victim.safetensors'];
  let paths: string[] = [];
  let cleanRun: CompareResult;
  before(async () => {
    mkdirSync(dir, { recursive: true });
    paths = writeFaultModels(dir, names, { elements: 1 << 20 });
    copyFileSync(paths[3]!, join(root, 'pool-victim.pristine'));
    cleanRun = await compareModels(paths.slice(0, 3), { outDir: join(root, 'pool-clean'), workers: 2 });
  });

  for (const { name, fault, reason } of FAULTS) {
    it(`${name} mid-run, 3 trials: no "Unexpected message from Worker", the file listed, the others exact`, async () => {
      for (let trial = 0; trial < 3; trial++) {
        copyFileSync(join(root, 'pool-victim.pristine'), paths[3]!);
        const out = join(root, `pool-out-${name.replace(/\W+/g, '-')}-${trial}`);
        const { result, injected } = await faultyRun([dir], out, 2, midRun, () => fault(paths[3]!));
        assert.ok(injected, 'the run had several tasks and the fault came between them');
        assert.deepEqual(result.errors.map((e) => [e.file, e.code]), [['victim.safetensors', 'FILE_CHANGED']]);
        assert.match(result.errors[0]!.message, reason);
        assert.deepEqual(result.models.map((m) => m.path), paths.slice(0, 3));
        // the run with the victim dropped is the clean run's plan, options and fold order: exact to the bit
        assertSameNumbers(result, cleanRun, 0);
        assertWhole(out);
      }
    });
  }
});

describe('inputs that are not regular files, or the same file twice', () => {
  const dir = join(root, 'special');
  let good: string[] = [];
  let clean: CompareResult;
  before(async () => {
    mkdirSync(dir, { recursive: true });
    good = writeFaultModels(dir, ['a.safetensors', 'b.safetensors', 'c.safetensors']);
    clean = await compareModels(good, { outDir: join(root, 'special-clean'), workers: 0 });
  });

  /** A diffusers folder whose file `name` is replaced by `make(path)`; its unet is a copy of model a. */
  function diffusers(folder: string, name: string, make: (path: string) => void): string {
    const d = join(root, 'special-extra', folder);
    mkdirSync(join(d, 'unet'), { recursive: true });
    writeFileSync(join(d, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}');
    copyFileSync(good[0]!, join(d, 'unet', 'diffusion_pytorch_model.safetensors'));
    rmSync(join(d, name), { force: true });
    make(join(d, name));
    return d;
  }

  it('a FIFO named x.safetensors, a FIFO or /dev/zero as model_index.json, /dev/zero as UNet weights: refused with the reason, never waited on', async () => {
    const extra = join(root, 'special-extra');
    mkdirSync(extra, { recursive: true });
    const fifo = join(extra, 'x.safetensors');
    execFileSync('mkfifo', [fifo]);
    const inputs = [
      ...good,
      fifo,
      diffusers('fifo-index', 'model_index.json', (p) => execFileSync('mkfifo', [p])),
      diffusers('zero-index', 'model_index.json', (p) => symlinkSync('/dev/zero', p)),
      diffusers('zero-unet', 'unet/diffusion_pytorch_model.safetensors', (p) => symlinkSync('/dev/zero', p)),
    ];
    const out = join(root, 'special-out');
    const result = await compareModels(inputs, { outDir: out, workers: 2 });
    const errors = new Map(result.errors.map((e) => [e.file, e]));
    assert.deepEqual([...errors.keys()].sort(), ['fifo-index', 'x.safetensors', 'zero-index', 'zero-unet']);
    assert.match(errors.get('x.safetensors')!.message, /named pipe \(FIFO\), not a regular file/);
    assert.match(errors.get('fifo-index')!.message, /model_index\.json.*named pipe \(FIFO\)/);
    assert.match(errors.get('zero-index')!.message, /model_index\.json.*character device/);
    assert.match(errors.get('zero-unet')!.message, /unet.*character device/);
    for (const e of result.errors) assert.equal(e.code, 'NOT_A_MODEL');
    assertGoodModelsUnchanged(result, out, clean, good);
  });

  it('a hard link and a symlink to a model given beside it: read once, with a note, not compared with itself', async () => {
    const extra = join(root, 'special-links');
    mkdirSync(extra, { recursive: true });
    const hard = join(extra, 'hard.safetensors');
    const soft = join(extra, 'soft.safetensors');
    linkSync(good[1]!, hard);
    symlinkSync(good[1]!, soft);
    const out = join(root, 'links-out');
    const result = await compareModels([...good, hard, soft], { outDir: out, workers: 0 });
    assert.deepEqual(result.errors, []);
    assertGoodModelsUnchanged(result, out, clean, good);
    const notes = result.models[1]!.notes.filter((n) => n.startsWith('also given as'));
    assert.equal(notes.length, 2, result.models[1]!.notes.join('\n'));
    assert.match(notes[0]!, /hard\.safetensors: the same file .*read once and not compared with itself/);
    assert.match(notes[1]!, /soft\.safetensors/);
  });
});
