// Health findings about how the weights of today's zoo are stored: an fp8 model saved as F16 ("is this FP16
// fine-tune really fp8?"), fp8 weights whose scales are missing, and a safetensors file with bytes after its last
// tensor (which the safetensors library refuses: "file not fully covered").
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { checkHealth } from '../../../src/compute/analysis/health';
import { compareModels } from '../../../src/compute';
import type { ModelHealth } from '../../../src/shared/analysis';
import { scaledFp8 } from '../../fixtures/quantise';
import type { SourceTensor } from '../../fixtures/quantisedSafetensors';
import { encode, writeSafetensors } from '../../fixtures/safetensorsWriter';
import { tmpRoot } from './helpers';

const P = 'model.diffusion_model.';

function model(seed: number): SourceTensor[] {
  const v = (n: number, s: number) => Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 0.173 + s * seed) + 0.01 * Math.cos(i * 0.0091 * s));
  return [
    { name: `${P}input_blocks.1.1.proj_in.weight`, shape: [64, 256], values: v(64 * 256, 1) },
    { name: `${P}middle_block.1.proj_out.weight`, shape: [256, 512], values: v(256 * 512, 3) },
    { name: `${P}out.2.weight`, shape: [4, 256, 1, 1], values: v(1024, 4) },
  ];
}

/** The value of an e4m3fn code, by the format's definition (bias 7, 3 mantissa bits, no infinities). */
function e4m3fn(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 15;
  const m = code & 7;
  return sign * (e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7));
}

const f16File = (path: string, tensors: SourceTensor[]) =>
  writeSafetensors(path, tensors.map((t) => ({ name: t.name, dtype: 'F16', shape: t.shape, data: encode('F16', Array.from(t.values)) })));

describe('storage health of quantised-era files', () => {
  const root = tmpRoot('storage-health');
  const dir = join(root.path, 'models');
  let health: Map<string, ModelHealth>;
  const messages = (file: string) => health.get(file)!.findings.map((f) => `${f.severity}: ${f.message}`).join('\n');

  before(async () => {
    mkdirSync(dir, { recursive: true });
    const src = model(1);
    f16File(join(dir, 'a-f16.safetensors'), src);
    // the fp8 codes' own values (no scale), stored in 16 bits: every value is on the e4m3fn grid
    f16File(join(dir, 'b-fp8-as-f16.safetensors'), src.map((t) => ({ ...t, values: Array.from(scaledFp8(t.values).codes, e4m3fn) })));
    // scaled-fp8 codes written without their scales or the marker: they span the whole fp8 range
    writeSafetensors(join(dir, 'c-fp8-scales-lost.safetensors'), src.map((t) => ({ name: t.name, dtype: 'F8_E4M3', shape: t.shape, data: scaledFp8(t.values).codes })));
    // the scaled_fp8 marker, one layer with its scale and two without
    const partial = src.slice(1).map((t) => ({ name: t.name, dtype: 'F8_E4M3' as const, shape: t.shape, data: scaledFp8(t.values).codes }));
    const first = src[0]!;
    const q = scaledFp8(first.values);
    writeSafetensors(join(dir, 'd-fp8-partial.safetensors'), [
      { name: first.name, dtype: 'F8_E4M3', shape: first.shape, data: q.codes },
      { name: first.name.replace(/weight$/, 'scale_weight'), dtype: 'F32', shape: [], data: encode('F32', [q.scale]) },
      { name: 'scaled_fp8', dtype: 'F8_E4M3', shape: [0], data: new Uint8Array(0) },
      ...partial,
    ]);
    f16File(join(dir, 'e-trailing.safetensors'), src);
    appendFileSync(join(dir, 'e-trailing.safetensors'), Buffer.alloc(100));
    const out = join(root.path, 'out');
    const result = await compareModels([dir], { outDir: out, workers: 0 });
    assert.deepEqual(result.errors, []);
    health = new Map((await checkHealth(out)).map((h) => [h.file, h]));
  });

  test('an ordinary F16 model has none of these findings', () => {
    assert.doesNotMatch(messages('a-f16.safetensors'), /fp8|after the last tensor/);
  });

  test('an fp8 model stored as F16: every value exactly an fp8 e4m3fn value', () => {
    assert.match(messages('b-fp8-as-f16.safetensors'), /^warning: every value of its 3 F16\/BF16 tensors \(100% of their parameters\) is exactly an fp8 e4m3fn value/m);
  });

  test('unscaled fp8 weights that reach the largest fp8 value: their scales look missing', () => {
    assert.match(messages('c-fp8-scales-lost.safetensors'), /^warning: 3 of its 3 unscaled fp8 tensors reach the largest fp8 value/m);
  });

  test('a scaled-fp8 file where some weights have no scale', () => {
    assert.match(messages('d-fp8-partial.safetensors'), /^warning: 2 fp8 weights have no scale \(first: model\.diffusion_model\.middle_block\.1\.proj_out\.weight\) in a file whose other 1 fp8 weights have one/m);
  });

  test('bytes after the last tensor: read, and said with what the safetensors library does', () => {
    assert.match(messages('e-trailing.safetensors'), /^warning: 100 bytes after the last tensor: the safetensors library refuses the file/m);
  });
});
