import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelHashes } from '../../../src/shared/analysis';
import { canReuse, hasEveryHash } from '../../../src/compute/analysis/reuse';
import { sampleAnalysis } from '../extension/sampleAnalysis';
import { sampleResult } from '../extension/sampleResult';

const hashed = (path: string): ModelHashes => ({
  file: path.split('/').pop()!,
  path,
  hashes: { path, size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), autov2: 'AAAAAAAAAA', legacy: 'aaaaaaaa', legacyUnreliable: true, autov3: null, autov3Short: null },
  components: {},
});

test('re-used only for the same result and time_embed placement', () => {
  const r = sampleResult();
  const a = sampleAnalysis(r);
  assert.equal(canReuse(a, r, { timeEmbed: 'BASE', computeHashes: false }), true);
  assert.equal(canReuse(a, r, { timeEmbed: 'IN00', computeHashes: false }), false);
  assert.equal(canReuse({ ...a, resultCreatedAt: '2000-01-01T00:00:00.000Z' }, r, { timeEmbed: 'BASE', computeHashes: false }), false);
});

test('when hashes are wanted: every model needs its file and component hashes, or the reason it has none', () => {
  const r = sampleResult();
  const paths = r.models.map((m) => m.path);
  const a = sampleAnalysis(r);
  assert.equal(hasEveryHash(a, r), false, 'no hashes at all');
  assert.equal(canReuse(a, r, { timeEmbed: 'BASE', computeHashes: true }), false);
  const all = { ...a, hashes: paths.map(hashed) };
  assert.equal(canReuse(all, r, { timeEmbed: 'BASE', computeHashes: true }), true);
  const fromCacheOnly = { ...a, hashes: paths.map((p, i) => (i === 1 ? { ...hashed(p), components: null } : hashed(p))) };
  assert.equal(hasEveryHash(fromCacheOnly, r), false, 'file hashes without component hashes');
  const withError = { ...a, hashes: paths.map((p, i) => (i === 2 ? { file: 'x', path: p, hashes: null, components: null, error: 'is not a file' } : hashed(p))) };
  assert.equal(hasEveryHash(withError, r), true, 'a diffusers folder has no file hash, and says why');
  assert.equal(hasEveryHash({ ...a, hashes: paths.slice(1).map(hashed) }, r), false, 'a model missing');
});
