// Names shown to people: hostile file names escaped for the terminal, and models with one file name told apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeLines, shown } from '../../../src/cli/terminal';
import { distinctPathSuffixes } from '../../../src/shared/displayNames';

test('control characters, DEL, C1 controls and bidirectional overrides are shown as visible escapes', () => {
  assert.equal(shown('a\nb\r\tc'), 'a\\nb\\r\\tc');
  assert.equal(shown('x\x1b]0;title\x07y'), 'x\\x1b]0;title\\x07y');
  assert.equal(shown('\x7f\x9b\u202eevil'), '\\x7f\\x9b\\u202eevil');
  assert.equal(shown('plain_name-1.safetensors'), 'plain_name-1.safetensors');
  assert.equal(shown('ünïcödé 模型.safetensors'), 'ünïcödé 模型.safetensors');
  // text we composed keeps its line feeds; anything else is escaped
  assert.equal(safeLines('line 1\nline\x1b[2J 2\r'), 'line 1\nline\\x1b[2J 2\\r');
});

test('the shortest end of the path that tells models apart', () => {
  assert.deepEqual(distinctPathSuffixes(['/x/a/m.st', '/x/b/m.st', '/y/c.st']), ['a/m.st', 'b/m.st', 'c.st']);
  assert.deepEqual(distinctPathSuffixes(['/p/a/x/m', '/p/b/x/m', '/p/c/y/m']), ['a/x/m', 'b/x/m', 'y/m']);
  assert.deepEqual(distinctPathSuffixes(['/p/m', '/p/m', '/q/n/']), ['/p/m', '/p/m', 'n'], 'the same path twice keeps its whole text');
  assert.deepEqual(distinctPathSuffixes(['C:\\a\\m.st', 'C:\\b\\m.st', 'rel/m.st']), ['a\\m.st', 'b\\m.st', 'rel/m.st']);
  assert.deepEqual(distinctPathSuffixes(['/a/diffusers/', '/b/diffusers']), ['a/diffusers', 'b/diffusers']);
  assert.deepEqual(distinctPathSuffixes([]), []);
});
