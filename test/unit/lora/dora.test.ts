/**
 * DoRA modules (LyCORIS `dora_scale`): their change depends on the base weight, W' - W with
 * W' = (W + dW) m / (||W + dW|| + eps), normalised per output channel or per input channel. Checked against the
 * oracle's dense construction from the base file; without a base they are left out with a note.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ModeldiffError, openCheckpoint } from '../../../src/compute/index';
import { baseKeySpace, forEachKeyPairs, readLora, type KeyPairs } from '../../../src/compute/lora/index';
import { factor, kohyaLora, randomFactor, scalar, writeLora, type ModuleSpec } from '../../fixtures/lora';
import { base, layout, materialize } from '../../fixtures/synth';
import { assertClose } from '../../helpers/expectClose';
import { quantize } from '../../fixtures/safetensorsWriter';
import { tmpDir } from '../../helpers/tmp';
import { oracleDistance2, oracleInner, oracleKeyDeltas, type OracleManifest } from '../../oracle/lora';
import { T, kohya } from './sd15Fixture';

const dir = tmpDir('lora-dora-');
let basePath: string;
const files: { path: string; manifest: OracleManifest }[] = [];

/** Magnitudes near the norms of a base weight of N(0, 0.02) entries over `n` elements. */
const magnitudes = (seed: number, n: number, count: number, dtype: 'F16' | 'F32') => quantize(dtype, randomFactor(seed, 'm', [count], dtype, 0.004).map((x) => x + 0.02 * Math.sqrt(n)));

before(() => {
  basePath = join(dir, 'base.safetensors');
  materialize(base(layout('sd15', { scale: 32 }), 1), basePath);
  const t = (s: (typeof T)[keyof typeof T]) => ({ key: s.key, shape: [...s.shape] });
  const withDora = (m: ModuleSpec, shape: number[], values: Float64Array, dtype: 'F16' | 'F32'): ModuleSpec => ({ ...m, factors: [...m.factors, factor('.dora_scale', shape, values, dtype)] });
  const q = withDora(kohyaLora({ name: kohya(T.q), target: t(T.q), out: 10, in: 10, rank: 4, alpha: 2, dtype: 'F16', seed: 1 }), [10, 1], magnitudes(1, 10, 10, 'F32'), 'F32');
  const ff = withDora(kohyaLora({ name: kohya(T.ff), target: t(T.ff), out: 320, in: 40, rank: 4, alpha: 4, dtype: 'F16', seed: 2 }), [1, 40], magnitudes(2, 320, 40, 'F16'), 'F16');
  const conv = withDora(kohyaLora({ name: kohya(T.conv), target: t(T.conv), out: 10, in: 10, rank: 2, kernel: [3, 3], dtype: 'F16', seed: 3 }), [1, 10, 1, 1], magnitudes(3, 90, 10, 'F32'), 'F32');
  const p1 = join(dir, 'dora_lora.safetensors');
  files.push({ path: p1, manifest: writeLora(p1, [q, ff, conv]) });
  const lokr: ModuleSpec = {
    name: kohya(T.q),
    factors: [
      factor('.lokr_w1', [2, 2], randomFactor(4, 'w1', [2, 2], 'F16', 1), 'F16'),
      factor('.lokr_w2_a', [5, 2], randomFactor(4, 'w2a', [5, 2], 'F16'), 'F16'),
      factor('.lokr_w2_b', [2, 5], randomFactor(4, 'w2b', [2, 5], 'F16'), 'F16'),
      scalar('.alpha', 2, 'F16'),
      factor('.dora_scale', [10, 1], magnitudes(4, 10, 10, 'F32'), 'F32'),
    ],
    targets: [t(T.q)],
  };
  const p2 = join(dir, 'dora_lokr.safetensors');
  files.push({ path: p2, manifest: writeLora(p2, [lokr]) });
  const plain = kohyaLora({ name: kohya(T.q), target: t(T.q), out: 10, in: 10, rank: 4, alpha: 2, dtype: 'F16', seed: 1 });
  const p3 = join(dir, 'plain.safetensors');
  files.push({ path: p3, manifest: writeLora(p3, [plain, { ...kohyaLora({ name: kohya(T.ff), target: t(T.ff), out: 320, in: 40, rank: 4, alpha: 4, dtype: 'F16', seed: 2 }) }]) });
});

test('DoRA changes (per output and per input channel, linear and 3x3 convolution, LoRA and LoKr) equal the oracle', async () => {
  const space = baseKeySpace(await openCheckpoint(basePath));
  const models = await Promise.all(files.map(async (f) => readLora(await openCheckpoint(f.path), { space })));
  for (const m of models) assert.deepEqual(m.notes.filter((n) => !/store no alpha/.test(n.message)), [], m.file);
  assert.ok(models[0]!.modules.every((m) => m.doraScale));
  const oracle = files.map((f) => oracleKeyDeltas(f.path, f.manifest, basePath));
  let pairs = 0;
  forEachKeyPairs(models, (kp: KeyPairs) => {
    const m = kp.members.length;
    for (let x = 0; x < m; x++) {
      const dx = oracle[kp.members[x]!]!.get(kp.key)!;
      assertClose(kp.norm2[x], oracleInner(dx, dx), 1e-6, `${kp.key} ||dW||^2 of ${files[kp.members[x]!]!.path}`);
      for (let y = x + 1; y < m; y++) {
        pairs++;
        const dy = oracle[kp.members[y]!]!.get(kp.key)!;
        assertClose(kp.dot[x * m + y], oracleInner(dx, dy), 1e-6, `${kp.key} <dW, dW'>`, 1e-12 * Math.sqrt(oracleInner(dx, dx) * oracleInner(dy, dy)));
        assertClose(kp.d2[x * m + y], oracleDistance2(dx, dy), 1e-6, `${kp.key} ||dW - dW'||^2`);
      }
    }
  });
  assert.equal(pairs, 4, 'q: three files; ff: two');
});

test('without a base, DoRA modules are left out with a note, and a file of them alone is refused saying why', async () => {
  const mixedPath = join(dir, 'mixed.safetensors');
  writeLora(mixedPath, [
    kohyaLora({ name: kohya(T.k2), target: [], out: 20, in: 24, rank: 2, dtype: 'F16', seed: 9 }),
    { ...kohyaLora({ name: kohya(T.q), target: [], out: 10, in: 10, rank: 2, dtype: 'F16', seed: 10 }), factors: [...kohyaLora({ name: kohya(T.q), target: [], out: 10, in: 10, rank: 2, dtype: 'F16', seed: 10 }).factors, factor('.dora_scale', [10, 1], magnitudes(10, 10, 10, 'F32'), 'F32')] },
  ]);
  const mixed = readLora(await openCheckpoint(mixedPath));
  assert.deepEqual(mixed.targets.map((t) => t.key), [T.k2.key]);
  const dora = mixed.notes.filter((n) => n.key !== undefined);
  assert.equal(dora.length, 1);
  assert.equal(dora[0]!.key, kohya(T.q));
  assert.match(dora[0]!.message, /is a DoRA module: its change depends on the base weights/);
  const onlyDora = await openCheckpoint(files[1]!.path);
  assert.throws(
    () => readLora(onlyDora),
    (e: unknown) => e instanceof ModeldiffError && e.code === 'LORA_INVALID' && e.file === files[1]!.path && /DoRA module: its change depends on the base weights/.test(e.message),
  );
});
