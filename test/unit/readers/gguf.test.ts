// GGUF files written by the fixture writer, opened through the registry: tensor infos, reversed dims, the
// ComfyUI-GGUF shape overrides, alignment, metadata, and every value read by ranges equal to the oracle's.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { MODEL_EXTENSIONS } from '../../../src/compute/readers/registry';
import { dimsOf, ggufBytes, writeGguf, type GgufTensorSpec } from '../../fixtures/ggufWriter';
import { quantiseGgml, type GgmlFixtureType } from '../../fixtures/quantise';
import { encode } from '../../fixtures/safetensorsWriter';
import { tensorValues } from '../../helpers/quantValues';
import { tmpDir } from '../../helpers/tmp';
import { loadGgufOracle } from '../../oracle/quantised';

const dir = tmpDir('modeldiff-gguf-');

function wave(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.04 * Math.sin(i * 0.61 + seed) + 0.01 * Math.cos(i * 0.07 * seed));
}

const QUANT_TYPES: GgmlFixtureType[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

function flux(alignment?: number): { path: string; tensors: GgufTensorSpec[] } {
  const tensors: GgufTensorSpec[] = [
    { name: 'img_in.weight', type: 'F16', dims: dimsOf([64, 32]), data: encode('F16', wave(64 * 32, 1)) },
    { name: 'img_in.bias', type: 'F32', dims: dimsOf([64]), data: encode('F32', wave(64, 2)) },
    { name: 'time_in.in_layer.weight', type: 'BF16', dims: dimsOf([8, 16]), data: encode('BF16', wave(128, 3)) },
    ...QUANT_TYPES.map((t, i) => ({ name: `double_blocks.${i}.img_mlp.0.weight`, type: t, dims: dimsOf([3, 512]), data: quantiseGgml(t, wave(3 * 512, 10 + i)) })),
  ];
  const path = join(dir, `flux-${alignment ?? 'default'}.gguf`);
  writeGguf(path, { alignment, tensors, kv: [{ key: 'general.architecture', type: 'STRING', value: 'flux' }, { key: 'general.quantization_version', type: 'UINT32', value: 2 }] });
  return { path, tensors };
}

describe('GGUF reader', () => {
  it('.gguf is a model extension, so a folder scan finds it', () => {
    assert.ok(MODEL_EXTENSIONS.includes('.gguf'));
  });

  for (const alignment of [undefined, 64, 8]) {
    it(`opens every supported type with reversed dims (alignment ${alignment ?? 'default 32'}), values equal to the oracle`, async () => {
      const { path, tensors } = flux(alignment);
      const c = await openCheckpoint(path);
      assert.equal(c.format, 'gguf');
      assert.equal(c.metadata['general.architecture'], 'flux');
      assert.equal(c.metadata['general.quantization_version'], '2');
      assert.deepEqual(c.notes, []);
      assert.deepEqual(
        c.tensors.map((t) => [t.name, t.dtype, t.shape]),
        tensors.map((t) => [t.name, t.type, (t.dims as number[]).slice().reverse()]),
      );
      const oracle = loadGgufOracle(path);
      for (const t of c.tensors) {
        const o = oracle.tensors.find((x) => x.name === t.name)!;
        if (t.quant) {
          assert.equal(t.quant.scheme, 'ggml');
          assert.equal(t.offset % (alignment ?? 32), 0);
        } else assert.equal(t.quant, undefined);
        for (const chunk of [256, 512, 1536]) assert.deepEqual(tensorValues(t, chunk), o.values, `${t.name} by ${chunk}`);
      }
    });
  }

  it('applies comfy.gguf.orig_shape overrides (rows of 256 back to a conv weight)', async () => {
    const shape = [64, 4, 3, 3]; // 2304 values, last dim not a multiple of 256
    const values = wave(2304, 5);
    const path = join(dir, 'sdxl.gguf');
    writeGguf(path, {
      kv: [
        { key: 'general.architecture', type: 'STRING', value: 'sdxl' },
        { key: 'comfy.gguf.orig_shape.input_blocks.0.0.weight', type: 'ARRAY', value: { itemType: 'INT32', items: shape } },
      ],
      tensors: [{ name: 'input_blocks.0.0.weight', type: 'Q8_0', dims: [256, 9], data: quantiseGgml('Q8_0', values) }],
    });
    const c = await openCheckpoint(path);
    assert.deepEqual(c.tensors[0]!.shape, shape);
    assert.equal(c.tensors[0]!.numel, 2304);
    assert.equal(c.metadata['comfy.gguf.orig_shape.input_blocks.0.0.weight'], undefined, 'the override is consumed');
    assert.deepEqual(tensorValues(c.tensors[0]!), loadGgufOracle(path).tensors[0]!.values);
  });

  it('keeps key/values of every type in the metadata, long arrays summarised', async () => {
    const path = join(dir, 'kv.gguf');
    writeGguf(path, {
      version: 2,
      kv: [
        { key: 'a.u8', type: 'UINT8', value: 200 },
        { key: 'a.i8', type: 'INT8', value: -5 },
        { key: 'a.u16', type: 'UINT16', value: 60000 },
        { key: 'a.i16', type: 'INT16', value: -300 },
        { key: 'a.u32', type: 'UINT32', value: 4e9 },
        { key: 'a.i32', type: 'INT32', value: -7 },
        { key: 'a.f32', type: 'FLOAT32', value: 0.5 },
        { key: 'a.bool', type: 'BOOL', value: true },
        { key: 'a.str', type: 'STRING', value: 'héllo' },
        { key: 'a.u64', type: 'UINT64', value: 2n ** 60n },
        { key: 'a.i64', type: 'INT64', value: -(2n ** 40n) },
        { key: 'a.f64', type: 'FLOAT64', value: 1.25 },
        { key: 'a.short', type: 'ARRAY', value: { itemType: 'STRING', items: ['x', 'y'] } },
        { key: 'a.nested', type: 'ARRAY', value: { itemType: 'ARRAY', items: [{ itemType: 'UINT8', items: [1, 2] }] } },
        { key: 'a.long', type: 'ARRAY', value: { itemType: 'UINT8', items: Array.from({ length: 5000 }, (_, i) => i & 255) } },
        { key: 'a.tokens', type: 'ARRAY', value: { itemType: 'STRING', items: Array.from({ length: 3000 }, (_, i) => `t${i}`) } },
      ],
      tensors: [{ name: 'w', type: 'F32', dims: [4], data: encode('F32', [1, 2, 3, 4]) }],
    });
    const c = await openCheckpoint(path);
    assert.deepEqual(
      { ...c.metadata },
      {
        'a.u8': '200',
        'a.i8': '-5',
        'a.u16': '60000',
        'a.i16': '-300',
        'a.u32': '4000000000',
        'a.i32': '-7',
        'a.f32': '0.5',
        'a.bool': 'true',
        'a.str': 'héllo',
        'a.u64': String(2n ** 60n),
        'a.i64': String(-(2n ** 40n)),
        'a.f64': '1.25',
        'a.short': '["x", "y"]',
        'a.nested': '[[1, 2]]',
        'a.long': '<5000 UINT8 values>',
        'a.tokens': '<3000 STRING values>',
      },
    );
  });

  it('a file with no tensors opens empty; bytes no tensor claims are noted', async () => {
    const empty = join(dir, 'empty.gguf');
    writeGguf(empty, { tensors: [], kv: [{ key: 'general.architecture', type: 'STRING', value: 'sd1' }] });
    assert.equal((await openCheckpoint(empty)).tensors.length, 0);
    const bytes = ggufBytes({ tensors: [{ name: 'w', type: 'F32', dims: [4], data: encode('F32', [1, 2, 3, 4]) }] });
    const padded = join(dir, 'trailing.gguf');
    writeFileSync(padded, Buffer.concat([bytes, Buffer.alloc(100, 7)]));
    const c = await openCheckpoint(padded);
    assert.match(c.notes.join('\n'), /100 bytes of the data section belong to no tensor/);
  });
});
