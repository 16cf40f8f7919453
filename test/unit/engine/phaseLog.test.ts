import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModels } from '../../../src/compute';
import { PHASE_LINE, phaseLog, PHASES_ENV } from '../../../src/compute/pipeline/phaseLog';
import { base, layout, materialize } from '../../fixtures/synth';
import { tmpDir } from '../../helpers/tmp';

test('phase log: silent unless asked, then one line per phase with its time and the memory', () => {
  const lines: string[] = [];
  phaseLog({}, (l) => lines.push(l)).mark('plan');
  phaseLog({ [PHASES_ENV]: '0' }, (l) => lines.push(l)).mark('plan');
  assert.equal(lines.length, 0);
  const log = phaseLog({ [PHASES_ENV]: '1' }, (l) => lines.push(l));
  log.mark('plan', '3 keys');
  log.mark('engine');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^${PHASE_LINE} plan +\\d+\\.\\d{3} s  at +\\d+\\.\\d{3} s  rss +\\d+ MiB  peak +\\d+ MiB  heap +\\d+ MiB  buffers +\\d+ MiB  3 keys$`));
  assert.match(lines[1]!, new RegExp(`^${PHASE_LINE} engine `));
});

test('phase log: compare marks every phase, in order, when the variable is set', async () => {
  const dir = tmpDir('modeldiff-phases-');
  mkdirSync(join(dir, 'models'));
  const L = layout('sd15', { scale: 64 });
  materialize(base(L, 1), join(dir, 'models', 'a.safetensors'));
  materialize(base(L, 2), join(dir, 'models', 'b.safetensors'));
  const written: string[] = [];
  const write = process.stderr.write;
  const saved = process.env[PHASES_ENV];
  process.env[PHASES_ENV] = '1';
  process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await compareModels([join(dir, 'models')], { outDir: join(dir, 'out'), workers: 0 });
  } finally {
    process.stderr.write = write;
    if (saved === undefined) delete process.env[PHASES_ENV];
    else process.env[PHASES_ENV] = saved;
  }
  const phases = written.join('').split('\n').filter((l) => l.startsWith(PHASE_LINE)).map((l) => l.split(/\s+/)[1]);
  assert.deepEqual(phases, ['scan', 'headers', 'plan', 'setup', 'engine', 'sums', 'pairs', 'result.json', 'model_map', 'commit']);
});
