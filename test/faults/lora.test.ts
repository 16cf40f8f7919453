/**
 * LoRA runs re-check their inputs' file identities (device, inode, size, mtime) as checkpoint runs do: when a file is
 * first read, when every read is done, and before the results are kept. A LoRA truncated, deleted, rewritten in place
 * with the same size, or replaced during `compare` (a folder of LoRAs, and LoRAs with checkpoints measured from a
 * base) or `attribute` is listed in errors as FILE_CHANGED, and the other models' numbers are exactly those of a run
 * without it; a checkpoint changed during `attribute`, or the base during `compare --base`, fails the run naming it.
 */
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { attributeFiles, compareModels, type CompareResult, type Progress } from '../../src/compute';
import { tmpDir } from '../helpers/tmp';
import { makeSd15Fixture, type Sd15Fixture } from '../unit/lora/sd15Fixture';
import { assertSameNumbers, assertWhole } from './fixture';

const root = tmpDir('modeldiff-lora-faults-');

type Fault = (victim: string) => void;

/** The last 256 bytes (tensor data) overwritten in place: same size, same inode, other bytes. */
const rewriteSameSize: Fault = (victim) => {
  const size = statSync(victim).size;
  const fd = openSync(victim, 'r+');
  try {
    writeSync(fd, Buffer.alloc(256, 0x3c), 0, 256, size - 256);
  } finally {
    closeSync(fd);
  }
};

const FAULTS: { name: string; fault: Fault; reason: RegExp }[] = [
  { name: 'rewritten in place with the same size', fault: rewriteSameSize, reason: /changed while it was read/ },
  { name: 'truncated', fault: (v) => truncateSync(v, statSync(v).size - 64), reason: /changed while it was read|truncated/ },
  { name: 'deleted', fault: (v) => unlinkSync(v), reason: /deleted or moved while it was read/ },
  {
    name: 'replaced by another file at its path',
    fault: (v) => {
      copyFileSync(v, v + '.new');
      renameSync(v + '.new', v);
    },
    reason: /changed while it was read/,
  },
];

const atStart = (p: Progress) => p.phase === 'comparing';
const afterLastRead = (p: Progress) => p.phase === 'comparing' && p.bytesTotal > 0 && p.bytesDone === p.bytesTotal;

/** `compare` with `inject` called once, at the first progress report `when` accepts. */
async function faultyCompare(inputs: string[], out: string, when: (p: Progress) => boolean, inject: () => void, base?: string): Promise<{ result: CompareResult; injected: boolean }> {
  let injected = false;
  const result = await compareModels(inputs, {
    outDir: out,
    workers: 0,
    ...(base ? { base } : {}),
    onProgress: (p) => {
      if (!injected && when(p)) {
        injected = true;
        inject();
      }
    },
  });
  return { result, injected };
}

/** The faulty run is the clean run of the good models: the same models, numbers and per-weight rows, to the bit. */
function assertSameAsClean(faulty: CompareResult, out: string, clean: CompareResult, cleanOut: string): void {
  assert.deepEqual(faulty.models.map((m) => m.path), clean.models.map((m) => m.path), 'the good models, and only those');
  assert.deepEqual(faulty.pairs, clean.pairs, 'every pair exactly as without the fault');
  assertSameNumbers(faulty, clean, 0);
  assert.deepEqual(faulty.layers, clean.layers);
  assert.ok(readFileSync(join(out, 'layers.bin')).equals(readFileSync(join(cleanOut, 'layers.bin'))), 'layers.bin byte for byte');
  assert.deepEqual(assertWhole(out).errors, JSON.parse(JSON.stringify(faulty.errors)), 'result.json lists the error too');
}

let fx: Sd15Fixture;
before(() => {
  mkdirSync(join(root, 'made'));
  fx = makeSd15Fixture(join(root, 'made'));
});

describe('compare on a folder of LoRAs: a LoRA that changes during the run', () => {
  const dir = join(root, 'loras');
  let good: string[];
  let victim: string;
  let clean: CompareResult;
  before(async () => {
    mkdirSync(dir);
    good = [fx.A, fx.B, fx.D].map((f) => join(dir, basename(f.path)));
    [fx.A, fx.B, fx.D].forEach((f, i) => copyFileSync(f.path, good[i]!));
    victim = join(dir, 'C_victim.safetensors');
    copyFileSync(fx.C.path, join(root, 'C.pristine'));
    clean = await compareModels(good, { outDir: join(root, 'loras-clean'), workers: 0 });
    assert.deepEqual(clean.errors, []);
  });

  for (const { name, fault, reason } of FAULTS) {
    for (const [moment, when] of [
      ['as the comparison starts', atStart],
      ['after its last read, before the results are kept', afterLastRead],
    ] as const) {
      it(`${name} ${moment}: listed in errors as FILE_CHANGED, the other LoRAs compared exactly as without it`, async () => {
        copyFileSync(join(root, 'C.pristine'), victim);
        const out = join(root, `loras-${name.replace(/\W+/g, '-')}-${when === atStart ? 'start' : 'end'}`);
        const { result, injected } = await faultyCompare([dir], out, when, () => fault(victim));
        assert.ok(injected, 'the fault was injected');
        assert.deepEqual(result.errors.map((e) => [e.file, e.path, e.code]), [['C_victim.safetensors', victim, 'FILE_CHANGED']], JSON.stringify(result.errors));
        assert.match(result.errors[0]!.message, reason);
        assertSameAsClean(result, out, clean, join(root, 'loras-clean'));
      });
    }
  }
});

describe('compare --base (LoRAs and checkpoints): a LoRA, a checkpoint or the base that changes during the run', () => {
  const dir = join(root, 'mixed');
  let basePath: string;
  let merged: string;
  let loraVictim: string;
  let ckptVictim: string;
  let cleanWithout: Map<string, CompareResult>;
  before(async () => {
    mkdirSync(dir);
    basePath = join(root, 'base.safetensors');
    copyFileSync(fx.base, basePath);
    merged = join(dir, 'merged.safetensors');
    copyFileSync(fx.merged, merged);
    for (const f of [fx.A, fx.B]) copyFileSync(f.path, join(dir, basename(f.path)));
    loraVictim = join(dir, 'E_victim.safetensors');
    ckptVictim = join(dir, 'other_checkpoint.safetensors');
    copyFileSync(fx.E.path, join(root, 'E.pristine'));
    copyFileSync(fx.merged, join(root, 'ckpt.pristine'));
    // the clean runs: the folder without each victim
    cleanWithout = new Map();
    for (const [v, pristine] of [[loraVictim, 'E.pristine'], [ckptVictim, 'ckpt.pristine']] as const) {
      const other = v === loraVictim ? ckptVictim : loraVictim;
      copyFileSync(join(root, v === loraVictim ? 'ckpt.pristine' : 'E.pristine'), other);
      rmIfThere(v);
      const out = join(root, `mixed-clean-${basename(v)}`);
      cleanWithout.set(v, await compareModels([dir], { outDir: out, workers: 0, base: basePath }));
      copyFileSync(join(root, pristine), v);
    }
  });

  for (const which of ['LoRA', 'checkpoint'] as const) {
    for (const [moment, when] of [
      ['as the comparison starts', atStart],
      ['after its last read', afterLastRead],
    ] as const) {
      it(`a ${which} rewritten in place ${moment}: FILE_CHANGED, the other models' numbers unchanged`, async () => {
        copyFileSync(join(root, 'E.pristine'), loraVictim);
        copyFileSync(join(root, 'ckpt.pristine'), ckptVictim);
        const victim = which === 'LoRA' ? loraVictim : ckptVictim;
        const out = join(root, `mixed-${which}-${when === atStart ? 'start' : 'end'}`);
        const { result, injected } = await faultyCompare([dir], out, when, () => rewriteSameSize(victim), basePath);
        assert.ok(injected);
        assert.deepEqual(result.errors.map((e) => [e.path, e.code]), [[victim, 'FILE_CHANGED']], JSON.stringify(result.errors));
        assertSameAsClean(result, out, cleanWithout.get(victim)!, join(root, `mixed-clean-${basename(victim)}`));
      });
    }
  }

  it('the base rewritten in place mid-run: the run fails with FILE_CHANGED naming the base, no result is written', async () => {
    copyFileSync(join(root, 'E.pristine'), loraVictim);
    copyFileSync(join(root, 'ckpt.pristine'), ckptVictim);
    const out = join(root, 'mixed-base');
    try {
      await assert.rejects(
        faultyCompare([dir], out, atStart, () => rewriteSameSize(basePath), basePath),
        (e: { code?: string; file?: string }) => e.code === 'FILE_CHANGED' && e.file === basePath,
      );
      assert.throws(() => statSync(join(out, 'result.json')), 'no result');
    } finally {
      copyFileSync(fx.base, basePath);
    }
  });
});

function rmIfThere(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* not there */
  }
}

describe('attribute: a LoRA or a checkpoint that changes during the fit', () => {
  const dir = join(root, 'attr');
  let loras: string[];
  let victim: string;
  let merged: string;
  before(() => {
    mkdirSync(dir);
    loras = [fx.A, fx.B, fx.D].map((f) => join(dir, basename(f.path)));
    [fx.A, fx.B, fx.D].forEach((f, i) => copyFileSync(f.path, loras[i]!));
    victim = join(dir, 'C_victim.safetensors');
    merged = join(root, 'attr-merged.safetensors');
    copyFileSync(fx.merged, merged);
  });

  for (const { name, fault, reason } of FAULTS) {
    for (const moment of ['at the first weight', 'after the last weight'] as const) {
      it(`a LoRA ${name} ${moment}: listed as FILE_CHANGED, the others' strengths exactly those of a fit without it`, async () => {
        copyFileSync(fx.C.path, victim);
        let injected = false;
        const r = await attributeFiles(merged, fx.base, [...loras, victim], {
          onProgress: ({ keysDone, keysTotal }) => {
            if (!injected && (moment === 'at the first weight' ? keysDone === 1 : keysDone === keysTotal)) {
              injected = true;
              fault(victim);
            }
          },
        });
        assert.ok(injected);
        assert.deepEqual(r.errors.map((e) => [e.file, e.code]), [['C_victim.safetensors', 'FILE_CHANGED']], JSON.stringify(r.errors));
        assert.match(r.errors[0]!.message, reason);
        const clean = await attributeFiles(merged, fx.base, loras);
        assert.deepEqual(r.attribution.loras, clean.attribution.loras, 'the same strengths, to the bit');
        assert.equal(r.attribution.relResidual, clean.attribution.relResidual);
        assert.ok(Math.abs(r.attribution.loras[0]!.strength - fx.strengths.A) < 0.01 && Math.abs(r.attribution.loras[1]!.strength - fx.strengths.B) < 0.01);
      });
    }
  }

  it('the checkpoint rewritten in place during the fit: FILE_CHANGED naming it (no strengths from a file that changed)', async () => {
    copyFileSync(fx.C.path, victim);
    let injected = false;
    await assert.rejects(
      attributeFiles(merged, fx.base, loras, {
        onProgress: ({ keysDone }) => {
          if (!injected && keysDone === 1) {
            injected = true;
            rewriteSameSize(merged);
          }
        },
      }),
      (e: { code?: string; file?: string }) => e.code === 'FILE_CHANGED' && e.file === merged,
    );
    assert.ok(injected);
    copyFileSync(fx.merged, merged);
  });
});
