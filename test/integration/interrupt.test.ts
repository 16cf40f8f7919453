// Ctrl-C is the same for every CLI command: the run's signal, aborted by the first SIGINT, exit code 130.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interruptOnSigint } from '../../src/cli/interrupt';
import { main } from '../../src/cli/main';
import { EXIT } from '../../src/cli/exitCodes';

test('the first SIGINT aborts the signal; dispose removes the handler', () => {
  const before = process.listenerCount('SIGINT');
  const i = interruptOnSigint();
  assert.equal(process.listenerCount('SIGINT'), before + 1);
  process.emit('SIGINT', 'SIGINT');
  assert.equal(i.signal.aborted, true);
  i.dispose();
  assert.equal(process.listenerCount('SIGINT'), before);
});

test('SIGTERM aborts the signal too, and the run exits 143 instead of 130', async () => {
  const before = process.listenerCount('SIGTERM');
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const run = main(['hashes', '--no-cache', __filename]);
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await run, EXIT.terminated);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(process.listenerCount('SIGTERM'), before);
});

test('a command interrupted while it works exits 130 (cancelled) and leaves no SIGINT handler behind', async () => {
  const before = process.listenerCount('SIGINT');
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    // hashes of this very test file: interrupted before the first read completes
    const run = main(['hashes', '--no-cache', __filename]);
    process.emit('SIGINT', 'SIGINT');
    assert.equal(await run, EXIT.cancelled);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(process.listenerCount('SIGINT'), before);
});

test('a short synchronous command installs no handler: Ctrl-C ends it as Node does by default', async () => {
  const before = process.listenerCount('SIGINT');
  const write = process.stdout.write.bind(process.stdout);
  let during = -1;
  process.stdout.write = ((..._a: unknown[]) => ((during = process.listenerCount('SIGINT')), true)) as typeof process.stdout.write;
  try {
    assert.equal(await main(['--version']), EXIT.ok);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(during, before);
});
