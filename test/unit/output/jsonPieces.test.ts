import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseJsonInPieces } from '../../../src/compute/output/jsonPieces';
import { readResult } from '../../../src/compute/output/resultFiles';
import { writeLargeResult } from '../../fixtures/largeResult';
import { tmpDir } from '../../helpers/tmp';

const bytes = (s: string) => Buffer.from(s, 'utf8');

/** What JSON.parse says of a text: its value, or that it refuses it. */
function jsonParse(text: string): { value: unknown } | { refused: true } {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { refused: true };
  }
}

function inPieces(text: string): { value: unknown } | { refused: true } {
  try {
    return { value: parseJsonInPieces(bytes(text), 'pairs') };
  } catch (e) {
    assert.ok(e instanceof SyntaxError, `a SyntaxError, not ${String(e)}`);
    return { refused: true };
  }
}

test('a JSON object parsed in pieces is the value JSON.parse gives, and what it refuses is refused', () => {
  const texts = [
    '{}',
    ' { } ',
    '{"pairs":[]}',
    '{"pairs": [ ] , "a" : 1}',
    '{"a":1,"pairs":[{"x":"]}\\"[{"},[1,[2,{"y":null}]],"s\\\\",true,false,null,-1.5e-300,0]}',
    '{"pairs":[{"a":0,"b":1,"components":{"unet":{"l2":1e308,"cosine":null}}}],"models":[{"file":"é ∑ 😀 \\u00e9"}]}',
    '{"k\\"ey":"v\\\\","pairs":{"not":"an array"},"n":[]}',
    '{"__proto__":{"polluted":1},"pairs":[{"__proto__":2}]}',
    '{"a":1,"a":2,"pairs":[1],"pairs":[3,4]}',
    '\n\t{"pairs":[1,2,3]}\r\n',
    '[1,2]',
    '"a string"',
    // refused by JSON.parse
    '{"pairs":[1,2,]}',
    '{"pairs":[1 2]}',
    '{"a" 1}',
    '{"a":1,}',
    '{"a":1} x',
    '{"a":[1,2}',
    '{"pairs":[{"a":1]]}',
    '{"a":"unterminated}',
    '{"pairs":[',
    '{a:1}',
    '{"a":01}',
    '{"a":tru}',
    '{"pairs":[,1]}',
    '',
  ];
  for (const t of texts) {
    const want = jsonParse(t);
    const got = inPieces(t);
    assert.deepEqual(got, want, JSON.stringify(t));
    if ('value' in got && got.value && typeof got.value === 'object') {
      assert.equal(Object.getPrototypeOf(got.value), Object.getPrototypeOf((want as { value: object }).value), `${t}: the prototype is untouched`);
      assert.deepEqual(Object.keys(got.value), Object.keys((want as { value: object }).value), `${t}: key order`);
    }
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('readResult in pieces reads the same result as in one string', () => {
  const dir = join(tmpDir('modeldiff-pieces-'), 'out');
  writeLargeResult(dir, { models: 24, families: 3, keyStride: 64 });
  const whole = readResult(dir);
  const pieces = readResult(dir, 0);
  assert.equal(whole.pairs.length, (24 * 23) / 2);
  assert.deepEqual(pieces, whole);
  // damaged in the middle of a pair: refused the same way
  const broken = join(tmpDir('modeldiff-pieces-'), 'out');
  writeLargeResult(broken, { models: 4, families: 1, keyStride: 64, specials: [] });
  const text = JSON.stringify(readResult(broken));
  writeFileSync(join(broken, 'result.json'), text.replace('"components":', '"components"'));
  assert.throws(() => readResult(broken, 0), (e: Error & { code?: string }) => e.code === 'RESULT_INVALID' && /not valid JSON/.test(e.message));
});
