import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostIpc, RequestError } from '../../../src/webview/shared/hostIpc';

function fake() {
  const posted: any[] = [];
  let state: unknown = undefined;
  let listener: ((ev: { data: unknown }) => void) | undefined;
  const api = {
    postMessage: (m: unknown) => void posted.push(m),
    getState: () => state,
    setState: (s: unknown) => (state = s),
  };
  const source = { addEventListener: (_t: 'message', l: (ev: { data: unknown }) => void) => void (listener = l) };
  return { api, source, posted, deliver: (data: unknown) => listener!({ data }), state: () => state };
}

describe('HostIpc', () => {
  test('ready goes first; earlier messages wait for it', () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source);
    ipc.notify('focus/changed', { model: 1 });
    assert.equal(f.posted.length, 0);
    ipc.start();
    ipc.start();
    assert.deepEqual(f.posted, [
      { method: 'ready', params: { protocolVersion: 1 } },
      { method: 'focus/changed', params: { model: 1 } },
    ]);
  });

  test('requests are matched to responses by id', async () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source);
    ipc.start();
    const p1 = ipc.request('layers/get', { a: 0, b: 1 });
    const p2 = ipc.request('export/save', { suggestedName: 'x.csv', kind: 'csv', data: 'a' });
    const [, r1, r2] = f.posted;
    assert.equal(r1.method, 'layers/get');
    assert.notEqual(r1.id, r2.id);
    f.deliver({ method: 'response', id: r2.id, ok: true, value: { saved: true, path: '/x.csv' } });
    f.deliver({ method: 'response', id: r1.id, ok: true, value: [{ key: 'k', component: 'unet', l2: 1, cosine: 0.5 }] });
    assert.deepEqual(await p2, { saved: true, path: '/x.csv' });
    assert.equal((await p1).length, 1);
    assert.equal(ipc.inFlight, 0);
  });

  test('an error response rejects with the host message', async () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source);
    ipc.start();
    const p = ipc.request('layers/get', { a: 0, b: 1 });
    f.deliver({ method: 'response', id: f.posted[1].id, ok: false, error: 'layers.bin is missing' });
    await assert.rejects(p, (e: unknown) => e instanceof RequestError && e.message === 'layers.bin is missing' && e.method === 'layers/get');
  });

  test('a request without an answer times out', async () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source, 20);
    ipc.start();
    await assert.rejects(ipc.request('layers/get', { a: 0, b: 1 }), /timed out/);
    assert.equal(ipc.inFlight, 0);
    // a late answer is ignored
    f.deliver({ method: 'response', id: f.posted[1].id, ok: true, value: [] });
  });

  test('notifications reach their handlers; malformed messages are ignored; a throwing handler does not stop others', () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source);
    const got: unknown[] = [];
    const orig = console.error;
    console.error = () => {};
    try {
      ipc.on('focus/didChange', () => {
        throw new Error('boom');
      });
      const off = ipc.on('focus/didChange', (p) => got.push(p));
      for (const junk of [null, 42, 'x', {}, { method: 7 }, { method: 'response' }, { method: 'response', id: 99, ok: true }]) f.deliver(junk);
      f.deliver({ method: 'focus/didChange', params: { model: 2 } });
      off();
      f.deliver({ method: 'focus/didChange', params: { model: 3 } });
    } finally {
      console.error = orig;
    }
    assert.deepEqual(got, [{ model: 2 }]);
  });

  test('state is merged and survives (getState/setState)', () => {
    const f = fake();
    const ipc = new HostIpc(f.api, f.source);
    assert.deepEqual(ipc.getState(), {});
    ipc.setState({ component: 'te' });
    ipc.setState({ metric: 'cosine' });
    assert.deepEqual(f.state(), { component: 'te', metric: 'cosine' });
    const again = new HostIpc(f.api, f.source);
    assert.deepEqual(again.getState(), { component: 'te', metric: 'cosine' });
  });
});
