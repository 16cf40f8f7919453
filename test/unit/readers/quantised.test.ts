// Quantised safetensors opened through the registry: each weight under its real name with its encoding, the
// auxiliary tensors consumed, and every value read by ranges equal to the oracle's own dequantisation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { writeBnb4bit, writeScaledFp8, type Fp8Form, type SourceTensor } from '../../fixtures/quantisedSafetensors';
import { tensorValues } from '../../helpers/quantValues';
import { tmpDir } from '../../helpers/tmp';
import { loadModel } from '../../oracle/float64';

const dir = tmpDir('modeldiff-quantised-');

function layer(prefix: string, out: number, inp: number, seed: number): SourceTensor[] {
  const w = Array.from({ length: out * inp }, (_, i) => 0.03 * Math.sin(i * 0.13 + seed) + (i % 53 === 0 ? 0.2 : 0));
  return [
    { name: `${prefix}.weight`, shape: [out, inp], values: w },
    { name: `${prefix}.bias`, shape: [out], values: Array.from({ length: out }, (_, i) => 0.01 * i) },
  ];
}

const MODEL: SourceTensor[] = [...layer('double_blocks.0.img_attn.qkv', 48, 32, 1), ...layer('double_blocks.0.img_mlp.0', 64, 32, 2), ...layer('final_layer.linear', 16, 24, 3)];
const WEIGHTS = MODEL.filter((t) => t.shape.length === 2).map((t) => t.name);

async function checkAgainstOracle(path: string, dtype: string): Promise<void> {
  const c = await openCheckpoint(path);
  assert.deepEqual(c.tensors.map((t) => t.name).sort(), MODEL.map((t) => t.name).sort(), 'the key list is the model, not its auxiliary tensors');
  const oracle = loadModel(path);
  for (const t of c.tensors) {
    const o = [...oracle.tensors.values()].find((x) => x.stored === t.name)!;
    assert.deepEqual(t.shape, o.shape, t.name);
    if (WEIGHTS.includes(t.name)) {
      assert.equal(t.dtype, dtype, t.name);
      assert.ok(t.quant, t.name);
    } else assert.equal(t.quant, undefined);
    for (const chunk of [64, 512]) assert.deepEqual(tensorValues(t, chunk), o.values, `${t.name} by ${chunk}`);
  }
}

describe('scaled fp8 safetensors', () => {
  for (const form of ['scale_weight', 'weight_scale', 'comfy_quant', 'metadata'] as Fp8Form[]) {
    it(`${form}: weights dequantised with their scale, scales and markers consumed`, async () => {
      const path = join(dir, `fp8-${form}.safetensors`);
      writeScaledFp8(path, MODEL, form, { inputScales: true });
      await checkAgainstOracle(path, 'F8_E4M3_SCALED');
      const c = await openCheckpoint(path);
      assert.match(c.notes.join('\n'), /3 (ComfyUI )?fp8 weights dequantised/);
      assert.match(c.notes.join('\n'), /3 activation scales/);
    });
  }

  it('e5m2 codes', async () => {
    const path = join(dir, 'fp8-e5m2.safetensors');
    writeScaledFp8(path, MODEL, 'scale_weight', { kind: 'e5m2' });
    await checkAgainstOracle(path, 'F8_E5M2_SCALED');
  });

  it('scale_weight without the scaled_fp8 marker is still applied, with a note', async () => {
    const path = join(dir, 'fp8-nomarker.safetensors');
    writeScaledFp8(path, MODEL, 'scale_weight', { marker: false });
    await checkAgainstOracle(path, 'F8_E4M3_SCALED');
    assert.match((await openCheckpoint(path)).notes.join('\n'), /no scaled_fp8 marker/);
  });

  it('plain fp8 without scales stays a plain fp8 tensor', async () => {
    const { writeSafetensors } = await import('../../fixtures/safetensorsWriter');
    const path = join(dir, 'fp8-plain.safetensors');
    writeSafetensors(path, [{ name: 'a.weight', dtype: 'F8_E4M3', shape: [2, 2], data: Uint8Array.of(0x38, 0x40, 0xb8, 0) }]);
    const c = await openCheckpoint(path);
    assert.equal(c.tensors[0]!.dtype, 'F8_E4M3');
    assert.equal(c.tensors[0]!.quant, undefined);
  });
});

describe('bitsandbytes 4-bit safetensors', () => {
  for (const kind of ['nf4', 'fp4'] as const) {
    for (const nested of [false, true]) {
      for (const dtype of ['bfloat16', 'float16', 'float32'] as const) {
        it(`${kind}${nested ? ', double quantised' : ''}, ${dtype}: weights under their names, shape from the quant state`, async () => {
          const path = join(dir, `bnb-${kind}-${nested}-${dtype}.safetensors`);
          writeBnb4bit(path, MODEL, { kind, nested, dtype });
          await checkAgainstOracle(path, kind === 'nf4' ? 'BNB_NF4' : 'BNB_FP4');
        });
      }
    }
  }
});
