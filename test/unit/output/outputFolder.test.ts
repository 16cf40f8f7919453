import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ModeldiffError } from '../../../src/shared/errors';
import { OutputStaging, PREVIOUS_SUFFIX, STAGING_MARKER, STAGING_SUFFIX } from '../../../src/compute/output/outputFolder';
import { tmpDir } from '../../helpers/tmp';

const root = tmpDir('modeldiff-outfolder-');
let n = 0;

/** A fresh output path holding an earlier result (result.json = `text`), or nothing. */
function outPath(text?: string): string {
  const out = join(root, `out${n++}`);
  if (text !== undefined) {
    mkdirSync(out);
    writeFileSync(join(out, 'result.json'), text);
    writeFileSync(join(out, 'analysis.json'), 'old analysis');
  }
  return out;
}

function run(out: string, text: string): void {
  const s = OutputStaging.begin(out);
  writeFileSync(join(s.dir, 'result.json'), text);
  s.commit();
}

test('a run replaces the folder as a whole: the new files, none of the old, no marker, nothing beside it', () => {
  const out = outPath('old');
  run(out, 'new');
  assert.deepEqual(readdirSync(out), ['result.json']);
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'new');
  assert.deepEqual(readdirSync(root).filter((x) => x.startsWith(`${out.split('/').pop()}.`)), []);
});

test('a run that is discarded leaves the earlier result exactly as it was, and no staging folder', () => {
  const out = outPath('old');
  const s = OutputStaging.begin(out);
  assert.equal(s.dir, out + STAGING_SUFFIX);
  assert.ok(existsSync(join(s.dir, STAGING_MARKER)), 'the staging folder is marked as a run of ours');
  writeFileSync(join(s.dir, 'result.json'), 'half');
  s.discard();
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'old');
  assert.ok(!existsSync(s.dir));
});

test('a folder of other files (the models themselves, say) is never replaced', () => {
  const out = outPath();
  mkdirSync(out);
  writeFileSync(join(out, 'model.safetensors'), 'weights');
  assert.throws(() => OutputStaging.begin(out), (e: ModeldiffError) => e.code === 'USAGE' && e.file === out && /holds other files and no result\.json/.test(e.message));
  const file = outPath();
  writeFileSync(file, 'a file');
  assert.throws(() => OutputStaging.begin(file), (e: ModeldiffError) => e.code === 'USAGE' && /not a folder/.test(e.message));
  const empty = outPath();
  mkdirSync(empty);
  run(empty, 'new');
  assert.equal(readFileSync(join(empty, 'result.json'), 'utf8'), 'new');
});

test('the staging folder a killed run left is removed; one a live run is writing is not', () => {
  const out = outPath('old');
  mkdirSync(out + STAGING_SUFFIX);
  writeFileSync(join(out + STAGING_SUFFIX, STAGING_MARKER), JSON.stringify({ pid: 2 ** 22 + 12345 }));
  writeFileSync(join(out + STAGING_SUFFIX, 'layers.bin'), 'partial');
  run(out, 'new');
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'new');
  assert.ok(!existsSync(out + STAGING_SUFFIX));

  mkdirSync(out + STAGING_SUFFIX);
  writeFileSync(join(out + STAGING_SUFFIX, STAGING_MARKER), JSON.stringify({ pid: process.ppid }));
  assert.throws(() => OutputStaging.begin(out), (e: ModeldiffError) => e.code === 'USAGE' && new RegExp(`pid ${process.ppid}`).test(e.message));
  writeFileSync(join(out + STAGING_SUFFIX, STAGING_MARKER), 'not json');
  assert.throws(() => OutputStaging.begin(out), (e: ModeldiffError) => e.code === 'USAGE' && /was not made by modeldiff/.test(e.message));
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'new', 'untouched by a refused run');
});

test('killed between the two renames of the swap: the previous result is put back; killed after them, it is removed', () => {
  const out = outPath();
  mkdirSync(out + PREVIOUS_SUFFIX);
  writeFileSync(join(out + PREVIOUS_SUFFIX, 'result.json'), 'old');
  const s = OutputStaging.begin(out);
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'old', 'restored before the run begins');
  s.discard();
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'old');

  mkdirSync(out + PREVIOUS_SUFFIX);
  writeFileSync(join(out + PREVIOUS_SUFFIX, 'result.json'), 'older');
  run(out, 'new');
  assert.ok(!existsSync(out + PREVIOUS_SUFFIX));
  assert.equal(readFileSync(join(out, 'result.json'), 'utf8'), 'new');
});

test('a symlinked output folder: the folder it points to is replaced, the link kept', () => {
  const target = outPath('old');
  const link = join(root, `link${n++}`);
  symlinkSync(target, link);
  run(link, 'new');
  assert.equal(readFileSync(join(link, 'result.json'), 'utf8'), 'new');
  assert.equal(realpathSync(link), target);
});
