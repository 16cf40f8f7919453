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

test('a failed write is said as one, never "cannot read the file" or "file not found"; the path is kept', () => {
  const sys = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: x, ${syscall}`), { code, syscall, ...(path ? { path } : {}) });
  const full = toModeldiffError(sys('ENOSPC', 'write', '/out/result.json'));
  assert.equal(full.file, '/out/result.json');
  assert.equal(full.message, 'cannot write: no space left on the device (ENOSPC)');
  assert.equal(full.details?.errno, 'ENOSPC');
  assert.equal(toModeldiffError(sys('ENOENT', 'rename', '/gone/x.tmp')).message, 'cannot rename: the folder it is in does not exist (removed?) (ENOENT)');
  assert.equal(toModeldiffError(sys('EACCES', 'mkdir', '/ro/out')).message, 'cannot create the folder: permission denied (EACCES)');
  assert.equal(toModeldiffError(sys('EROFS', 'open', '/ro/out/x')).message, 'cannot write: the file system is read-only (EROFS)');
  // reads keep their wording
  assert.equal(toModeldiffError(sys('ENOENT', 'open', '/m.safetensors')).message, 'file not found');
  assert.equal(toModeldiffError(sys('EISDIR', 'read', '/dir')).message, 'is a directory, not a model file');
});
