// A folder holding a model and its quantised copies (GGUF Q8_0 / Q4_K / Q6_K, scaled fp8, NF4): the engine
// dequantises before any arithmetic, so every distance is the quantisation error the float64 oracle computes on
// its own; a byte-identical copy is identical, and an fp8 file's raw codes never reach the arithmetic.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compareModels } from '../../src/compute';
import { pairMetrics } from '../../src/compute/pipeline/pairMetrics';
import { loadModel } from '../oracle/float64';
import { assertClose } from '../helpers/expectClose';
import type { CompareResult } from '../../src/shared/result';
import { dimsOf, writeGguf } from '../fixtures/ggufWriter';
import { quantiseGgml, type GgmlFixtureType } from '../fixtures/quantise';
import { writeBnb4bit, writeScaledFp8, type SourceTensor } from '../fixtures/quantisedSafetensors';
import { decode, encode, writeSafetensors } from '../fixtures/safetensorsWriter';
import { checkAgainstOracle } from '../helpers/compareWithOracle';
import { tmpDir } from '../helpers/tmp';

const P = 'model.diffusion_model.';

function model(seed: number): SourceTensor[] {
  const v = (n: number, s: number) => Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 0.173 + s * seed) + 0.01 * Math.cos(i * 0.0091 * s));
  return [
    { name: `${P}input_blocks.1.1.proj_in.weight`, shape: [64, 256], values: v(64 * 256, 1) },
    { name: `${P}input_blocks.1.1.proj_in.bias`, shape: [64], values: v(64, 2), dtype: 'F32' },
    { name: `${P}middle_block.1.proj_out.weight`, shape: [256, 512], values: v(256 * 512, 3) },
    { name: `${P}out.2.weight`, shape: [4, 256, 1, 1], values: v(1024, 4) },
    { name: `${P}out.2.bias`, shape: [4], values: v(4, 5), dtype: 'F32' },
  ];
}

/** The F16 values the quantised copies start from (they quantise what the F16 file holds). */
function f16Source(src: SourceTensor[]): SourceTensor[] {
  return src.map((t) => ({ ...t, values: t.dtype === 'F32' ? t.values : decode('F16', encode('F16', Array.from(t.values))) }));
}

/** As ComfyUI-GGUF's convert.py: 1-D tensors stay F32; a tensor whose rows are not whole blocks is stored as rows of
 *  256 with its real shape in comfy.gguf.orig_shape.<name>. */
function writeGgufCopy(path: string, src: SourceTensor[], type: GgmlFixtureType): void {
  const overrides = src.filter((t) => t.shape.length >= 2 && t.shape.at(-1)! % 256 !== 0);
  writeGguf(path, {
    kv: [
      { key: 'general.architecture', type: 'STRING', value: 'sd1' },
      ...overrides.map((t) => ({ key: `comfy.gguf.orig_shape.${t.name}`, type: 'ARRAY' as const, value: { itemType: 'INT32', items: t.shape } })),
    ],
    tensors: src.map((t) => {
      if (t.shape.length < 2) return { name: t.name, type: 'F32', dims: dimsOf(t.shape), data: encode('F32', Array.from(t.values)) };
      const rows = overrides.includes(t) ? [t.values.length / 256, 256] : t.shape;
      return { name: t.name, type, dims: dimsOf(rows), data: quantiseGgml(type, t.values) };
    }),
  });
}

describe('quantised copies of a model in one folder', () => {
  const dir = tmpDir();
  const models = join(dir, 'models');
  mkdirSync(models);
  const base = model(1);
  const tuned = model(1.1);
  const src = f16Source(base);
  writeSafetensors(join(models, 'a-base.safetensors'), base.map((t) => ({ name: t.name, dtype: t.dtype ?? 'F16', shape: t.shape, data: encode(t.dtype ?? 'F16', Array.from(t.values)) })));
  writeSafetensors(join(models, 'b-tuned.safetensors'), tuned.map((t) => ({ name: t.name, dtype: t.dtype ?? 'F16', shape: t.shape, data: encode(t.dtype ?? 'F16', Array.from(t.values)) })));
  writeGgufCopy(join(models, 'c-base-Q8_0.gguf'), src, 'Q8_0');
  copyFileSync(join(models, 'c-base-Q8_0.gguf'), join(models, 'c-copy-Q8_0.gguf'));
  writeGgufCopy(join(models, 'd-base-Q4_K.gguf'), src, 'Q4_K');
  writeGgufCopy(join(models, 'e-base-Q6_K.gguf'), src, 'Q6_K');
  writeScaledFp8(join(models, 'f-base-fp8.safetensors'), src, 'scale_weight');
  writeBnb4bit(join(models, 'g-base-nf4.safetensors'), src, { nested: true });

  let result: CompareResult;
  for (const [kernels, workers] of [['wasm', 0], ['reference', 0], ['wasm', 1]] as const) {
    test(`every number matches the float64 oracle (${kernels} kernels, ${workers ? 'worker pool' : 'in thread'})`, async () => {
      const out = join(dir, `out-${kernels}-${workers}`);
      result = await compareModels([models], { outDir: out, workers, kernels });
      assert.deepEqual(result.errors, []);
      assert.equal(result.models.length, 8);
      const { numbers } = checkAgainstOracle(result, out);
      assert.ok(numbers > 100, `checked ${numbers} numbers`);
    });
  }

  test('the relations: a byte copy is identical, each quantisation is close to its source, never to raw codes', () => {
    const idx = (f: string) => result.models.findIndex((m) => m.file === f);
    const pair = (a: string, b: string) => result.pairs.find((p) => p.a === Math.min(idx(a), idx(b)) && p.b === Math.max(idx(a), idx(b)))!.components['unet']!;
    assert.equal(pair('c-base-Q8_0.gguf', 'c-copy-Q8_0.gguf').status, 'identical');
    assert.equal(pair('c-base-Q8_0.gguf', 'c-copy-Q8_0.gguf').l2, 0);
    const tuning = pair('a-base.safetensors', 'b-tuned.safetensors').l2!;
    const errors = ['c-base-Q8_0.gguf', 'e-base-Q6_K.gguf', 'f-base-fp8.safetensors', 'd-base-Q4_K.gguf', 'g-base-nf4.safetensors'].map((f) => {
      const c = pair('a-base.safetensors', f);
      assert.equal(c.status, 'changed', f);
      return [f, c.l2!] as const;
    });
    for (const [f, e] of errors) assert.ok(e > 0 && e < tuning, `${f}: quantisation error ${e} vs fine-tune distance ${tuning}`);
    // finer formats are closer to their source
    const e = Object.fromEntries(errors);
    assert.ok(e['c-base-Q8_0.gguf']! < e['e-base-Q6_K.gguf']! && e['e-base-Q6_K.gguf']! < e['d-base-Q4_K.gguf']!, JSON.stringify(e));
    const m = result.models[idx('g-base-nf4.safetensors')]!;
    assert.equal(m.tensorCount, 5, 'the NF4 file lists the model keys, not absmax / quant_map / quant_state');
  });

  for (const copy of ['d-base-Q4_K.gguf', 'f-base-fp8.safetensors', 'g-base-nf4.safetensors']) {
    test(`pair drill-down base vs ${copy}: per-key l2, max |difference| and changed count from dequantised values`, async () => {
      const a = join(models, 'a-base.safetensors');
      const b = join(models, copy);
      const pm = await pairMetrics(a, b, { inThread: true });
      const A = loadModel(a);
      const B = loadModel(b);
      assert.equal(pm.keys.length, 5);
      for (const k of pm.keys) {
        const x = A.tensors.get(k.key)!.values;
        const y = B.tensors.get(k.key)!.values;
        let d2 = 0;
        let max = 0;
        let changed = 0;
        x.forEach((v, i) => {
          const d = Math.abs(v - y[i]!);
          d2 += d * d;
          max = Math.max(max, d);
          if (d !== 0) changed++;
        });
        assertClose(Math.sqrt(k.l2sq), Math.sqrt(d2), 1e-6, `${k.key} l2`);
        assert.equal(k.maxAbs, max, `${k.key} max`);
        assert.equal(k.l0, changed, `${k.key} changed`);
      }
    });
  }
});

describe('a bytes-only unit (one member F8_E4M3FNUZ, which has no arithmetic here) with NF4 members', () => {
  test('equal codes with another absmax are not identical', async () => {
    const dir = tmpDir();
    const models = join(dir, 'models');
    mkdirSync(models);
    const w = [{ name: `${P}out.0.weight`, shape: [8, 16], values: Array.from({ length: 128 }, (_, i) => Math.sin(i)) }];
    writeSafetensors(join(models, 'a-fnuz.safetensors'), [{ name: w[0]!.name, dtype: 'F8_E4M3FNUZ', shape: [8, 16], data: new Uint8Array(128) }]);
    writeBnb4bit(join(models, 'b-nf4.safetensors'), w);
    const bytes = readFileSync(join(models, 'b-nf4.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
    const at = 8 + n + header[`${P}out.0.weight.absmax`]!.data_offsets[0];
    bytes.writeFloatLE(bytes.readFloatLE(at) * 2, at);
    writeFileSync(join(models, 'c-nf4.safetensors'), bytes);
    copyFileSync(join(models, 'b-nf4.safetensors'), join(models, 'd-nf4.safetensors'));
    const result = await compareModels([models], { outDir: join(dir, 'out'), workers: 0 });
    assert.deepEqual(result.errors, []);
    const pair = (a: number, b: number) => result.pairs.find((p) => p.a === a && p.b === b)!.components['unet']!;
    assert.equal(pair(1, 2).identical, false, 'b vs c: same codes, another absmax');
    assert.equal(pair(1, 3).identical, true, 'b vs d: a byte copy');
  });
});
