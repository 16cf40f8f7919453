// The committed wasm/generated.ts must be what scripts/build-wasm.mjs produces from the AssemblyScript source.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { WASM_SIMD, WASM_SIMD_FMA } from '../../../src/compute/kernels/wasm/generated';

const root = join(__dirname, '..', '..', '..');
const committed = join(root, 'src/compute/kernels/wasm/generated.ts');

it('each embedded binary matches its sha256', () => {
  for (const embedded of [WASM_SIMD, WASM_SIMD_FMA]) {
    const digest = createHash('sha256').update(Buffer.from(embedded.base64, 'base64')).digest('hex');
    assert.equal(digest, embedded.sha256);
  }
});

it('generated.ts is up to date with the AssemblyScript source (run `npm run build:wasm` if not)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modeldiff-wasm-'));
  try {
    const out = join(dir, 'generated.ts');
    const r = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs'), '--out', out], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out, 'utf8') === readFileSync(committed, 'utf8'), 'src/compute/kernels/wasm/generated.ts is stale');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
