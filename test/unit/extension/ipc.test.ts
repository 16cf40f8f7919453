import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostIpc, parseWebviewMessage } from '../../../src/extension/panels/ipc';
import { PROTOCOL_VERSION, type HostMessage } from '../../../src/shared/protocol';

function harness(handlers: ConstructorParameters<typeof HostIpc>[1] = {}, notes: ConstructorParameters<typeof HostIpc>[2] = {}) {
  const sent: HostMessage[] = [];
  const logs: string[] = [];
  const ipc = new HostIpc((m) => {
    sent.push(m);
    return Promise.resolve(true);
  }, handlers, notes, (l) => logs.push(l));
  return { ipc, sent, logs };
}
const ready = { method: 'ready', params: { protocolVersion: PROTOCOL_VERSION } };

test('nothing is posted before ready; then the queue is flushed in order, newest progress only', async () => {
  const { ipc, sent } = harness();
  ipc.notify('progress/didChange', { phase: 'comparing', bytesDone: 1, bytesTotal: 10, etaSeconds: null });
  ipc.notify('error/didOccur', { message: 'a' });
  ipc.notify('progress/didChange', { phase: 'comparing', bytesDone: 5, bytesTotal: 10, etaSeconds: 2 });
  ipc.notify('error/didOccur', { message: 'b' });
  assert.equal(sent.length, 0);
  await ipc.receive(ready);
  assert.deepEqual(sent.map((m) => m.method), ['error/didOccur', 'progress/didChange', 'error/didOccur']);
  assert.equal((sent[1] as { params: { bytesDone: number } }).params.bytesDone, 5);
  ipc.notify('focus/didChange', { model: 1 });
  assert.equal(sent.length, 4);
});

test('reset waits for a new ready', async () => {
  const { ipc, sent } = harness();
  await ipc.receive(ready);
  ipc.reset();
  ipc.notify('error/didOccur', { message: 'x' });
  assert.equal(sent.length, 0);
  await ipc.receive(ready);
  assert.equal(sent.length, 1);
});

test('requests are dispatched and answered with ok/value or ok:false/error', async () => {
  const { ipc, sent } = harness({
    'layers/get': ({ a, b }) => [{ key: `k${a}${b}`, component: 'unet', l2: 1, cosine: null }],
    'export/save': () => {
      throw new Error('disk full');
    },
  });
  await ipc.receive(ready);
  await ipc.receive({ method: 'layers/get', params: { a: 0, b: 2 }, id: 7 });
  assert.deepEqual(sent.at(-1), { method: 'response', id: 7, ok: true, value: [{ key: 'k02', component: 'unet', l2: 1, cosine: null }] });
  await ipc.receive({ method: 'export/save', params: { suggestedName: 'x.png', kind: 'png', data: '' }, id: 8 });
  assert.deepEqual(sent.at(-1), { method: 'response', id: 8, ok: false, error: 'disk full' });
});

test('a request without a handler in this view is refused, not left hanging', async () => {
  const { ipc, sent } = harness();
  await ipc.receive(ready);
  await ipc.receive({ method: 'layers/get', params: { a: 0, b: 1 }, id: 3 });
  assert.deepEqual(sent.at(-1), { method: 'response', id: 3, ok: false, error: 'layers/get is not available in this view' });
});

test('malformed messages are ignored (malformed requests get an error answer)', async () => {
  const { ipc, sent, logs } = harness({ 'layers/get': () => [] });
  await ipc.receive(ready);
  for (const bad of [null, 'ready', [], { method: 1 }, { method: 'nope', params: {} }, { method: 'layers/get', params: { a: -1, b: 2 }, id: 4 }, { method: 'layers/get', params: { a: 0, b: 1 } }]) {
    await ipc.receive(bad);
  }
  assert.equal(logs.length, 7);
  assert.deepEqual(sent, [{ method: 'response', id: 4, ok: false, error: 'layers/get: a and b must be model indexes' }]);
});

test('focus/changed reaches its handler; parse checks every field', async () => {
  const got: unknown[] = [];
  const { ipc } = harness({}, { 'focus/changed': (f) => got.push(f) });
  await ipc.receive({ method: 'focus/changed', params: { pair: { a: 1, b: 0 }, component: 'vae' } });
  assert.deepEqual(got, [{ pair: { a: 1, b: 0 }, component: 'vae' }]);
  assert.equal(typeof parseWebviewMessage({ method: 'focus/changed', params: { model: 'x' } }), 'string');
  assert.equal(typeof parseWebviewMessage({ method: 'export/save', params: { suggestedName: 'a', kind: 'exe', data: '' }, id: 1 }), 'string');
  assert.equal(typeof parseWebviewMessage({ method: 'ready', params: {} }), 'string');
});

test('recipe/get and analysis/run are checked field by field and dispatched', async () => {
  const runs: unknown[] = [];
  const { ipc, sent } = harness({ 'recipe/get': (p) => ({ model: p.model, parents: p.parents }) as never }, { 'analysis/run': (p) => runs.push(p) });
  await ipc.receive(ready);
  await ipc.receive({ method: 'recipe/get', params: { model: 2, parents: [0, 1] }, id: 7 });
  assert.deepEqual(sent.at(-1), { method: 'response', id: 7, ok: true, value: { model: 2, parents: [0, 1] } });
  await ipc.receive({ method: 'analysis/run', params: { computeHashes: true, timeEmbed: 'IN00' } });
  assert.deepEqual(runs, [{ computeHashes: true, timeEmbed: 'IN00' }]);
  for (const params of [{ model: 0, parents: [1] }, { model: 0, parents: [0, 1] }, { model: 0, parents: [1, 1] }, { model: -1, parents: [1, 2] }, { model: 0, parents: [1, 2, 3, 4, 5] }]) {
    assert.equal(typeof parseWebviewMessage({ method: 'recipe/get', params, id: 1 }), 'string', JSON.stringify(params));
  }
  assert.equal(typeof parseWebviewMessage({ method: 'recipe/get', params: { model: 0, parents: [1, 2] } }), 'string', 'a request needs an id');
  assert.equal(typeof parseWebviewMessage({ method: 'analysis/run', params: { timeEmbed: 'in01' } }), 'string');
  assert.equal(typeof parseWebviewMessage({ method: 'analysis/run', params: { computeHashes: 'yes' } }), 'string');
});

test('lora/attribute is checked field by field and dispatched', async () => {
  const { ipc, sent } = harness({ 'lora/attribute': (p) => ({ checkpoint: String(p.checkpoint), base: String(p.base) }) as never });
  await ipc.receive(ready);
  await ipc.receive({ method: 'lora/attribute', params: { checkpoint: 3, base: 'comparison-base', nonNegative: true }, id: 4 });
  assert.deepEqual(sent.at(-1), { method: 'response', id: 4, ok: true, value: { checkpoint: '3', base: 'comparison-base' } });
  for (const params of [
    { checkpoint: 1, base: 1, nonNegative: true },
    { checkpoint: 'comparison-base', base: 0, nonNegative: true },
    { checkpoint: 'choose', base: 'somewhere', nonNegative: true },
    { checkpoint: -1, base: 0, nonNegative: true },
    { checkpoint: 0, base: 'choose', nonNegative: 'yes' },
  ]) {
    assert.equal(typeof parseWebviewMessage({ method: 'lora/attribute', params, id: 1 }), 'string', JSON.stringify(params));
  }
  assert.notEqual(typeof parseWebviewMessage({ method: 'lora/attribute', params: { checkpoint: 'choose', base: 'choose', nonNegative: false }, id: 1 }), 'string');
});

test('after dispose nothing is posted', async () => {
  const { ipc, sent } = harness();
  await ipc.receive(ready);
  ipc.dispose();
  ipc.notify('error/didOccur', { message: 'late' });
  await ipc.receive(ready);
  assert.equal(sent.length, 0);
});
