import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyFileAtomic, writeFileAtomic } from '../../../src/compute/io/atomicWrite';

test('writeFileAtomic replaces the file whole and leaves no temporary file, even when it fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'md-atomic-'));
  const f = join(dir, 'result.json');
  writeFileSync(f, 'old');
  writeFileAtomic(f, 'new');
  assert.equal(readFileSync(f, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['result.json']);
  // the target is a folder: the rename fails, the temporary file is removed
  mkdirSync(join(dir, 'sub'));
  assert.throws(() => writeFileAtomic(join(dir, 'sub'), 'x'));
  assert.deepEqual(readdirSync(dir).sort(), ['result.json', 'sub']);
});

test('copyFileAtomic copies whole, and a failed copy leaves the old file and no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'md-atomic-copy-'));
  const src = join(dir, 'src.json');
  const dest = join(dir, 'dest.json');
  writeFileSync(src, 'new content');
  writeFileSync(dest, 'old');
  copyFileAtomic(src, dest);
  assert.equal(readFileSync(dest, 'utf8'), 'new content');
  assert.throws(() => copyFileAtomic(join(dir, 'missing.json'), dest));
  assert.equal(readFileSync(dest, 'utf8'), 'new content');
  assert.deepEqual(readdirSync(dir).sort(), ['dest.json', 'src.json']);
});
