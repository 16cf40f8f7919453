import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeExportName } from '../../../src/extension/panels/exportName';
import { csvField } from '../../../src/shared/csv';
import { pairsCsv } from '../../../src/extension/util/csv';
import { bytesText, PercentTracker, percentOf, progressText } from '../../../src/extension/util/progressText';
import { readAnalysisSettings, readCompareSettings } from '../../../src/extension/util/settings';
import { sampleResult } from './sampleResult';
import { formatBytes, formatDuration } from '../../../src/shared/format';

test('progress text: percent, bytes and ETA while comparing; the phase before', () => {
  assert.equal(progressText({ phase: 'comparing', bytesDone: 512 * 1024 * 1024, bytesTotal: 2 * 1024 ** 3, etaSeconds: 65 }), '25% · 512 MiB of 2.00 GiB · ETA 1m 05s');
  assert.equal(progressText({ phase: 'reading headers', bytesDone: 0, bytesTotal: 0, etaSeconds: null, message: '4 models' }), 'reading headers: 4 models');
  assert.equal(progressText({ phase: 'comparing', bytesDone: 1, bytesTotal: 4, etaSeconds: null }), '25% · 1 B of 4 B');
  assert.equal(progressText({ phase: 'comparing', bytesDone: 1, bytesTotal: 4, etaSeconds: null, message: '18 pairs to compute, 10 kept' }), '25% · 1 B of 4 B · 18 pairs to compute, 10 kept');
  assert.equal(percentOf({ phase: 'done', bytesDone: 0, bytesTotal: 0, etaSeconds: 0 }), 100);
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatDuration(3725), '1h 02m');
  assert.equal(bytesText(42, 1.2 * 1024 ** 3, 2.86 * 1024 ** 3), '42% · 1.20 GiB of 2.86 GiB');
});

test('percent increments never go backwards', () => {
  const t = new PercentTracker();
  assert.equal(t.increment(null), undefined);
  assert.equal(t.increment(10), 10);
  assert.equal(t.increment(5), undefined);
  assert.equal(t.increment(30), 20);
});

test('settings: defaults, bounds, and never 0 workers (which would compute on the host thread)', () => {
  const s = (o: Record<string, unknown>) => readCompareSettings((k) => o[k]);
  assert.deepEqual(s({}), { metric: 'l2', workers: undefined, memoryBudgetMiB: 128, components: null, includeEma: true });
  assert.equal(s({ workers: 0 }).workers, undefined);
  assert.equal(s({ workers: 3.7 }).workers, 3);
  assert.equal(s({ workers: 1e6 }).workers, 64);
  assert.equal(s({ metric: 'cosine' }).metric, 'cosine');
  assert.equal(s({ metric: 'bogus' }).metric, 'l2');
  assert.equal(s({ memoryBudgetMiB: 1 }).memoryBudgetMiB, 128);
  assert.deepEqual(s({ components: ['vae', 'nope', 'vae', 'unet'] }).components, ['vae', 'unet']);
  assert.equal(s({ includeEma: false }).includeEma, false);
});

test('CSV: one row per pair and component; names cannot become formulas', () => {
  assert.equal(csvField('=cmd|calc'), "'=cmd|calc");
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField(null), '');
  assert.equal(csvField(Number.NaN), 'NaN');
  const lines = pairsCsv(sampleResult()).trimEnd().split('\r\n');
  assert.equal(lines.length, 1 + 3 * 2);
  assert.match(lines[0]!, /^model_a,model_b,component,status,l2,cosine/);
  assert.match(lines[1]!, /^base\.safetensors,copy\.safetensors,unet,identical,0,1,true,true,/);
});

test('export names: no folders, no control characters, the right extension', () => {
  assert.equal(safeExportName('../../etc/passwd', 'csv'), 'passwd.csv');
  assert.equal(safeExportName('heatmap unet.png', 'png'), 'heatmap unet.png');
  assert.equal(safeExportName('a\u0000b<>.svg', 'svg'), 'a_b__.svg');
  assert.equal(safeExportName('', 'json'), 'modeldiff.json');
  assert.equal(safeExportName('..', 'csv'), 'modeldiff.csv');
});

test('analysis settings: time_embed BASE unless IN00, hashes only when exactly true', () => {
  const s = (o: Record<string, unknown>) => readAnalysisSettings((k) => o[k]);
  assert.deepEqual(s({}), { timeEmbed: 'BASE', computeHashes: false });
  assert.deepEqual(s({ timeEmbed: 'IN00', computeHashes: true }), { timeEmbed: 'IN00', computeHashes: true });
  assert.deepEqual(s({ timeEmbed: 'in00', computeHashes: 'yes' }), { timeEmbed: 'BASE', computeHashes: false });
});
