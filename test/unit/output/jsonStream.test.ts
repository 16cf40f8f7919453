import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeJsonStream } from '../../../src/compute/output/jsonStream';
import { lazyArray } from '../../../src/compute/output/lazyArray';
import { tmpDir } from '../../helpers/tmp';

function streamed(value: unknown, indent: number, walk: number): string {
  const path = join(tmpDir('modeldiff-jsonstream-'), 'out.json');
  const fd = openSync(path, 'w');
  try {
    writeJsonStream(fd, value, indent, walk);
  } finally {
    closeSync(fd);
  }
  return readFileSync(path, 'utf8');
}

test('writeJsonStream writes exactly what JSON.stringify does, at every indent and walk depth', () => {
  const value = {
    a: 1,
    s: 'line\nbreak "quoted" \u2028',
    empty: {},
    none: [],
    skipped: undefined,
    fn: () => 1,
    date: new Date(0),
    nested: { list: [1, null, undefined, { x: [2, { y: 'z' }], k: NaN }, [], {}], deep: { deeper: { deepest: [-0, 1e-300, Infinity] } } },
    long: Array.from({ length: 3000 }, (_, i) => ({ i, name: `item ${i}`.repeat(i % 7) })),
  };
  for (const indent of [0, 1, 2]) {
    for (const walk of [0, 1, 2, 3, 10]) assert.equal(streamed(value, indent, walk), JSON.stringify(value, null, indent), `indent ${indent}, walk ${walk}`);
  }
  for (const top of [null, 3, 'x', [], {}, [undefined]]) assert.equal(streamed(top, 1, 2), JSON.stringify(top, null, 1));
});

test('lazyArray: items are made when read, read-only, and serialise, iterate and compare like an array', () => {
  let made = 0;
  const items = lazyArray(5, (i) => {
    made++;
    return { i, sq: i * i };
  });
  assert.equal(made, 0, 'nothing is made up front');
  assert.equal(items.length, 5);
  assert.ok(Array.isArray(items));
  assert.deepEqual(items[3], { i: 3, sq: 9 });
  assert.equal(items[5], undefined);
  assert.deepEqual([...items].map((x) => x.sq), [0, 1, 4, 9, 16]);
  assert.deepEqual(items.filter((x) => x.i % 2).map((x) => x.i), [1, 3]);
  assert.equal(JSON.stringify(items), JSON.stringify([0, 1, 2, 3, 4].map((i) => ({ i, sq: i * i }))));
  assert.deepEqual(items, [0, 1, 2, 3, 4].map((i) => ({ i, sq: i * i })));
  assert.equal(streamed({ items }, 1, 2), JSON.stringify({ items }, null, 1));
  assert.throws(() => {
    (items as { i: number }[])[0] = { i: 9 } as never;
  }, TypeError);
  assert.throws(() => items.push({ i: 5, sq: 25 }), TypeError);
});
