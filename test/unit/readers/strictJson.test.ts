import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ModeldiffError } from '../../../src/shared/errors';
import { testSeed } from '../../helpers/seed';
import { DEFAULT_MAX_DEPTH, JsonFloat, parseStrictJson, type JsonValue } from '../../../src/compute/readers/strictJson';

const SEED = 20260521;

/** Runs `fn` and returns the ModeldiffError it must throw. */
function rejects(fn: () => unknown, code: string): ModeldiffError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ModeldiffError, `expected a ModeldiffError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it parsed`);
}

function invalid(text: string): ModeldiffError {
  const e = rejects(() => parseStrictJson(text), 'ST_INVALID_JSON');
  assert.equal(typeof e.details?.position, 'number');
  return e;
}

/** What JSON.parse would give, for comparing values (own `__proto__` keys stay own properties). */
function toPlain(v: JsonValue): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) Object.defineProperty(o, k, { value: toPlain(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof JsonFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return v;
}

test('parses every kind of value, objects as Maps', () => {
  const v = parseStrictJson('{"a":[1,-2,"x",true,false,null,{}],"b":{"c":[]}}');
  assert.ok(v instanceof Map);
  assert.deepEqual([...v.keys()], ['a', 'b']);
  assert.deepEqual(v.get('a'), [1, -2, 'x', true, false, null, new Map()]);
  assert.deepEqual(v.get('b'), new Map([['c', []]]));
  assert.equal(parseStrictJson('"s"'), 's');
  assert.equal(parseStrictJson('null'), null);
});

test('decodes every escape, including surrogate pairs in either hex case', () => {
  assert.equal(parseStrictJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), '"\\/\b\f\n\r\t');
  assert.equal(parseStrictJson('"\\u0041\\u00e9\\u0000"'), 'Aé\u0000');
  assert.equal(parseStrictJson('"\\ud83d\\ude00"'), '😀');
  assert.equal(parseStrictJson('"\\uD83D\\uDE00"'), '😀');
  assert.equal(parseStrictJson('"raw 😀 é \u007f"'), 'raw 😀 é \u007f');
});

test('integers stay exact: numbers up to 2^53-1, bigint beyond', () => {
  assert.equal(parseStrictJson('0'), 0);
  assert.equal(parseStrictJson('-5'), -5);
  assert.equal(parseStrictJson('9007199254740991'), Number.MAX_SAFE_INTEGER);
  assert.equal(parseStrictJson('-9007199254740991'), -Number.MAX_SAFE_INTEGER);
  assert.equal(parseStrictJson('9007199254740992'), 9007199254740992n);
  assert.equal(parseStrictJson('9007199254740993'), 9007199254740993n);
  assert.equal(parseStrictJson('-9007199254740993'), -9007199254740993n);
  assert.equal(parseStrictJson('18446744073709551615'), 18446744073709551615n);
  assert.equal(parseStrictJson('1000000000000000000000000000000'), 10n ** 30n);
});

test('number tokens with a fraction or exponent are floats, never integers', () => {
  for (const text of ['8.0', '8e0', '8E0', '8e+0', '80e-1', '0.0', '-1.5e-3', '1E2']) {
    const v = parseStrictJson(text);
    assert.ok(v instanceof JsonFloat, text);
    assert.equal(v.text, text);
    assert.equal(v.value, Number(text));
  }
  assert.equal((parseStrictJson('1e-400') as JsonFloat).value, 0);
});

test('-0 is kept as negative zero so callers can tell it apart', () => {
  assert.ok(Object.is(parseStrictJson('-0'), -0));
  assert.ok(Object.is(parseStrictJson('0'), 0));
});

test('numbers beyond the double range are refused, as serde_json does', () => {
  invalid('1e400');
  invalid('-1e400');
  invalid('1' + '0'.repeat(400));
  invalid('[' + '9'.repeat(100_000) + ']');
});

test('refuses everything outside RFC 8259', () => {
  const cases = [
    '',
    '   ',
    '{',
    '}',
    '[1,]',
    '[,1]',
    '{"a":1,}',
    '{,}',
    '{a:1}',
    "{'a':1}",
    "'a'",
    '01',
    '-01',
    '00',
    '-',
    '1.',
    '.5',
    '1e',
    '1e+',
    '+1',
    '0x10',
    'NaN',
    'Infinity',
    '-Infinity',
    'tru',
    'nul',
    'True',
    'undefined',
    '[1 2]',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '{"a"}',
    '{1:2}',
    '"abc',
    '"\\',
    '"\\x"',
    '"\\u12"',
    '"\\u12G4"',
    '"\\U0041"',
    '"a\tb"',
    '"a\nb"',
    '"\u0000"',
    '"\u001f"',
    '// c\n1',
    '/* c */1',
    '1 2',
    '{}{}',
    '[]]',
  ];
  for (const text of cases) {
    assert.throws(
      () => parseStrictJson(text),
      (e: unknown) => e instanceof ModeldiffError && e.code === 'ST_INVALID_JSON',
      JSON.stringify(text),
    );
  }
});

test('only space, tab, LF and CR count as whitespace around and inside values', () => {
  assert.deepEqual(parseStrictJson(' \t\n\r{ "a" :\t[ 1 ,\n2 ] } \t\n\r'), new Map([['a', [1, 2]]]));
  for (const ws of ['\f', '\v', '\u00a0', '\u2028', '\ufeff']) invalid(`${ws}{}`);
});

test('anything after the value is refused, NUL padding included, with its position', () => {
  const e = invalid('{"a":1}\u0000\u0000');
  assert.equal(e.details?.position, 7);
  assert.match(e.message, /U\+0000/);
  invalid('{} x');
});

test('a byte order mark is refused', () => {
  assert.equal(invalid('\ufeff{}').details?.position, 0);
});

test('lone surrogate escapes are refused, paired ones accepted', () => {
  for (const text of ['"\\ud800"', '"\\udbff"', '"\\udc00"', '"\\udfff"', '"\\ud800\\u0041"', '"\\ud800x"', '"\\udc00\\ud800"', '"\\ud800\\ud800"', '{"\\ud800":1}']) {
    invalid(text);
  }
  assert.equal(parseStrictJson('"\\udbff\\udfff"'), '\u{10ffff}');
});

test('raw lone surrogates in the input are refused', () => {
  invalid('"\ud800"');
  invalid('"a\udc00"');
  assert.equal(parseStrictJson('"\ud83d\ude00"'), '😀');
});

test('duplicate keys are refused at any depth, naming the key and where it is', () => {
  let e = rejects(() => parseStrictJson('{"a":1,"a":1}'), 'ST_DUPLICATE_KEY');
  assert.deepEqual(e.details, { key: 'a', path: [], position: 7 });
  e = rejects(() => parseStrictJson('{"t":{"dtype":"F32","dtype":"F16"}}'), 'ST_DUPLICATE_KEY');
  assert.deepEqual(e.details, { key: 'dtype', path: ['t'], position: 20 });
  e = rejects(() => parseStrictJson('{"x":[0,{"k":1,"k":2}]}'), 'ST_DUPLICATE_KEY');
  assert.deepEqual(e.details?.path, ['x', 1]);
  // Keys equal after unescaping are duplicates too.
  e = rejects(() => parseStrictJson('{"a":1,"\\u0061":2}'), 'ST_DUPLICATE_KEY');
  assert.equal(e.details?.key, 'a');
  // The same key in sibling objects is fine.
  assert.ok(parseStrictJson('{"a":{"k":1},"b":{"k":1}}') instanceof Map);
});

test('__proto__, constructor and other Object.prototype names are plain keys', () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  const v = parseStrictJson('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"toString":1,"hasOwnProperty":2}');
  assert.ok(v instanceof Map);
  assert.deepEqual([...v.keys()], ['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
  assert.deepEqual(v.get('__proto__'), new Map([['polluted', 1]]));
  assert.equal(Object.getPrototypeOf(v), Map.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
});

test('nesting is bounded: serde_json depth accepted, one more refused, hostile depth fails cleanly', () => {
  const nest = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);
  assert.ok(Array.isArray(parseStrictJson(nest(DEFAULT_MAX_DEPTH))));
  assert.match(invalid(nest(DEFAULT_MAX_DEPTH + 1)).message, /nesting/);
  const objects = '{"a":'.repeat(DEFAULT_MAX_DEPTH + 1) + '1' + '}'.repeat(DEFAULT_MAX_DEPTH + 1);
  invalid(objects);
  invalid(nest(1_000_000));
  invalid('['.repeat(1_000_000));
  assert.ok(Array.isArray(parseStrictJson(nest(3), { maxDepth: 3 })));
  rejects(() => parseStrictJson(nest(4), { maxDepth: 3 }), 'ST_INVALID_JSON');
});

test('errors report the character position of the problem', () => {
  assert.equal(invalid('{"a":1,,}').details?.position, 7);
  assert.equal(invalid('[1, 2, x]').details?.position, 7);
  assert.equal(invalid('{"a":"\\q"}').details?.position, 6);
  assert.equal(invalid('"abc').details?.position, 0);
  assert.equal(invalid('[1.]').details?.position, 1);
});

test('property: any JSON value round-trips to what JSON.parse gives', (t) => {
  const seed = testSeed(t, SEED);
  fc.assert(
    fc.property(fc.jsonValue({ stringUnit: 'binary', maxDepth: 5 }), fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      assert.deepStrictEqual(toPlain(parseStrictJson(text)), JSON.parse(text));
    }),
    { seed, numRuns: 300 },
  );
});

/** Parses with both parsers; ours may refuse only for the reasons it refuses on purpose. */
function compareWithJsonParse(text: string): void {
  let mine: JsonValue | ModeldiffError;
  try {
    mine = parseStrictJson(text);
  } catch (e) {
    assert.ok(e instanceof ModeldiffError, String(e));
    mine = e;
  }
  let theirs: unknown;
  try {
    theirs = JSON.parse(text);
  } catch {
    assert.ok(mine instanceof ModeldiffError, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`);
    return;
  }
  if (mine instanceof ModeldiffError) {
    const deliberate = mine.code === 'ST_DUPLICATE_KEY' || /surrogate|out of range|nesting/.test(String(mine.details?.reason));
    assert.ok(deliberate, `refused valid JSON ${JSON.stringify(text)}: ${mine.message}`);
  } else {
    assert.deepStrictEqual(toPlain(mine), theirs);
  }
}

test('property: random text parses exactly like JSON.parse, apart from the deliberate refusals', (t) => {
  const seed = testSeed(t, SEED);
  const alphabet = fc.constantFrom(...'{}[],:"\\ \t\n0123456789-+.eEtrufalsn\u0000\ud800\udc00aé😀'.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), compareWithJsonParse),
    { seed, numRuns: 1000 },
  );
});

test('property: one-character mutations of valid JSON parse exactly like JSON.parse, apart from the deliberate refusals', (t) => {
  const seed = testSeed(t, SEED);
  const mutated = fc
    .tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.nat(2), fc.constantFrom(...'{}[],:"\\ 0-.eE1\u0000\ud800u'.split('')))
    .map(([value, at, op, c]) => {
      const text = JSON.stringify(value);
      const i = at % (text.length + 1);
      if (op === 0) return text.slice(0, i) + c + text.slice(i);
      if (op === 1) return text.slice(0, i) + text.slice(i + 1);
      return text.slice(0, i) + c + text.slice(i + 1);
    });
  fc.assert(fc.property(mutated, compareWithJsonParse), { seed, numRuns: 2000 });
});
