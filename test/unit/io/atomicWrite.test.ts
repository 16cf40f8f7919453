import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../../src/compute/io/atomicWrite';

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
