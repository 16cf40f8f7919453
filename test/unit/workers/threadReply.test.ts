// The one error shape across the workers' thread boundary: a ModeldiffError keeps its code and file through it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModeldiffError } from '../../../src/shared/errors';
import work from '../../../src/compute/workers/engineWorker';
import { fromThread, replyOf, unwrapReply } from '../../../src/compute/workers/threadReply';
import type { WorkTask } from '../../../src/compute/engine/workTask';

test('replyOf: a value, or the failure as a SerializedError that comes back as the same ModeldiffError', () => {
  assert.deepEqual(replyOf(() => 42), { ok: true, value: 42 });
  const reply = replyOf(() => {
    throw new ModeldiffError('PT_UNSAFE_GLOBAL', 'refused os.system', { file: '/m/a.ckpt', details: { global: 'os.system' } });
  });
  assert.equal(reply.ok, false);
  // what crosses the boundary is plain data (structured-clone safe)
  const copied = structuredClone(reply);
  assert.throws(() => unwrapReply(copied), (e: unknown) => e instanceof ModeldiffError && e.code === 'PT_UNSAFE_GLOBAL' && e.file === '/m/a.ckpt' && e.message === 'refused os.system');
  assert.equal(unwrapReply({ ok: true, value: 'x' }), 'x');
  // anything else thrown becomes ENGINE_INTERNAL with its message
  const other = replyOf(() => {
    throw new TypeError('boom');
  });
  assert.ok(!other.ok && other.error.code === 'ENGINE_INTERNAL' && other.error.message === 'boom');
  assert.equal(fromThread({ code: 'CANCELLED', message: 'stopped' }).code, 'CANCELLED');
});

test('the engine worker answers a failing task with the error, code and file kept', () => {
  const missing = join(__dirname, 'no-such-model.safetensors');
  const ref = { name: 'w', dtype: 'F32' as const, shape: [4], numel: 4, file: missing, offset: 0, byteLength: 16 };
  const task: WorkTask = { items: [{ unit: 0, start: 0, count: 4, members: [ref, ref] }], chunkElements: 1024, kernels: 'reference', files: {} };
  const reply = work(task);
  assert.equal(reply.ok, false);
  assert.ok(!reply.ok);
  assert.equal(reply.error.code, 'IO_ERROR');
  assert.equal(reply.error.file, missing);
});
