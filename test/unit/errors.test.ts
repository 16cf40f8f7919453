import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, ModeldiffError, toModeldiffError } from '../../src/shared/errors';

test('errors that crossed a thread as plain objects keep their code, whatever its shape', () => {
  for (const code of ERROR_CODES) {
    const back = toModeldiffError(JSON.parse(JSON.stringify(new ModeldiffError(code, 'why', { file: '/m.safetensors' }).toJSON())));
    assert.equal(back.code, code);
    assert.equal(back.message, 'why');
    assert.equal(back.file, '/m.safetensors');
  }
  const sys = toModeldiffError({ code: 'ENOENT', message: "ENOENT: no such file or directory, open '/x'" }, '/x');
  assert.equal(sys.code, 'IO_ERROR');
  assert.equal(toModeldiffError(new Error('boom')).code, 'ENGINE_INTERNAL');
});
