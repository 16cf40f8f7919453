// Mutation fuzzing (fixed seeds, bounded runs): valid torch zips, legacy files and checkpoint pickles are damaged by
// byte flips, truncations and splices; whatever comes out, only a ModeldiffError may escape, never a hang or a crash.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, describe, it, type TestContext } from 'node:test';
import { OP } from '../../src/compute/readers/pickle/opcodes';
import { concat } from '../fixtures/pickleWriter';
import { argparseNamespace, checkpointPickle, legacyBytes, numpyScalar, torchZipBytes, type TorchCheckpoint } from '../fixtures/torchWriter';
import { f32, zipWithPickle } from './craft';
import { testSeed } from '../helpers/seed';
import { readFileSync } from 'node:fs';
import { dimsOf, ggufBytes } from '../fixtures/ggufWriter';
import { quantiseGgml } from '../fixtures/quantise';
import { writeBnb4bit, writeScaledFp8, type SourceTensor } from '../fixtures/quantisedSafetensors';
import { encode } from '../fixtures/safetensorsWriter';
import { Sandbox, type Outcome } from './sandbox';

export const FUZZ_RUNS = 500;

const sb = new Sandbox();
after(() => sb.close());

/** A checkpoint with the structures worth damaging: Lightning nesting, a shared storage, views, several dtypes. */
function seedCheckpoint(): TorchCheckpoint {
  const s0 = { key: '0', dtype: 'F32' as const, bytes: f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) };
  const s1 = { key: '1', dtype: 'F16' as const, bytes: new Uint8Array([0, 0x3c, 0, 0x40, 0, 0x42, 0, 0x44]) };
  const s2 = { key: '2', dtype: 'I64' as const, bytes: new Uint8Array(new BigInt64Array([0n, 1n, 2n]).buffer) };
  return {
    tensors: [
      { name: 'model.diffusion_model.a', storage: s0, shape: [3, 4] },
      { name: 'model.diffusion_model.a_t', storage: s0, shape: [4, 3], strides: [1, 4] },
      { name: 'model.diffusion_model.row', storage: s0, offset: 4, shape: [4], parameter: true },
      { name: 'cond_stage_model.b', storage: s1, shape: [2, 2] },
      { name: 'cond_stage_model.position_ids', storage: s2, shape: [1, 3] },
    ],
    extraEntries: [['note', 'x']],
    lightning: { epoch: 1, globalStep: 2, version: '1.9.0', more: [['optimizer_states', [{ dict: [['lr', { float: 0.5 }]] }]]] },
  };
}

/** A GGUF file with the structures worth damaging: key/values of several types, arrays, a shape override, F32/F16 and
 *  block-quantised tensors, a non-default alignment. */
function seedGguf(): Uint8Array {
  const wave = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.3));
  return ggufBytes({
    alignment: 64,
    kv: [
      { key: 'general.architecture', type: 'STRING', value: 'flux' },
      { key: 'general.file_type', type: 'UINT32', value: 15 },
      { key: 'a.list', type: 'ARRAY', value: { itemType: 'STRING', items: ['x', 'yz'] } },
      { key: 'a.nums', type: 'ARRAY', value: { itemType: 'INT64', items: [1, -2] } },
      { key: 'comfy.gguf.orig_shape.conv.weight', type: 'ARRAY', value: { itemType: 'INT32', items: [16, 4, 2, 2] } },
    ],
    tensors: [
      { name: 'img_in.bias', type: 'F32', dims: [8], data: encode('F32', wave(8)) },
      { name: 'img_in.weight', type: 'F16', dims: dimsOf([4, 8]), data: encode('F16', wave(32)) },
      { name: 'conv.weight', type: 'Q8_0', dims: [256], data: quantiseGgml('Q8_0', wave(256)) },
      { name: 'double_blocks.0.qkv.weight', type: 'Q4_K', dims: dimsOf([2, 256]), data: quantiseGgml('Q4_K', wave(512)) },
      { name: 'double_blocks.0.mlp.weight', type: 'Q6_K', dims: [256], data: quantiseGgml('Q6_K', wave(256)) },
      { name: 'single_blocks.0.linear.weight', type: 'Q5_1', dims: [64], data: quantiseGgml('Q5_1', wave(64)) },
    ],
  });
}

/** A quantised safetensors file written by `write` to the sandbox, read back as bytes. */
function seedQuantised(name: string, write: (path: string, tensors: SourceTensor[]) => void): Uint8Array {
  const p = sb.path(`${name}-seed.safetensors`);
  const w = (n: number) => Array.from({ length: n }, (_, i) => Math.cos(i * 0.7) * 0.1);
  write(p, [
    { name: 'a.weight', shape: [4, 40], values: w(160) },
    { name: 'a.bias', shape: [4], values: w(4) },
    { name: 'b.weight', shape: [3, 5], values: w(15) },
  ]);
  return new Uint8Array(readFileSync(p)); // a copy: Buffer.slice would share the seed's memory with its mutants
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'copy'; from: number; to: number; length: number };

/** A position as a large integer, reduced modulo the length of the file being mutated. */
const position = fc.integer({ min: 0, max: 0x7fffffff });
const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Object.values(OP)), fc.constantFrom(0x00, 0xff, 0x7f, 0x80));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: byte }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.array(byte, { minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('copy' as const), from: position, to: position, length: fc.integer({ min: 1, max: 256 }) }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function apply(seed: Uint8Array, ms: Mutation[]): Uint8Array {
  let b: Uint8Array = seed.slice();
  for (const m of ms) {
    const at = m.kind === 'copy' ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'flip':
        if (b.length) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length) b[at] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'delete':
        b = concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'insert':
        b = concat([b.subarray(0, at), Uint8Array.from(m.bytes), b.subarray(at)]);
        break;
      case 'copy': {
        const from = m.from % (b.length + 1);
        const to = m.to % (b.length + 1);
        const chunk = b.slice(from, from + m.length);
        b = concat([b.subarray(0, to), chunk, b.subarray(to + chunk.length)]);
        break;
      }
    }
  }
  return b;
}

function check(o: Outcome): void {
  if (o.ok) return;
  if ('timeout' in o) assert.fail('the reader did not finish in time');
  if ('crashed' in o) assert.fail(`the reader crashed: ${o.crashed}`);
  assert.ok(o.error.modeldiff, `a non-ModeldiffError escaped: ${o.error.name}: ${o.error.message}\n${o.error.stack}`);
}

/** Runs FUZZ_RUNS mutated files; returns how many opened and a summary of the refusals by code. */
async function fuzz(
  t: TestContext,
  name: string,
  seed: Uint8Array,
  wrap: (b: Uint8Array) => Uint8Array,
  fcSeed: number,
  opts: { extractWeights?: boolean } = {},
): Promise<{ opened: number; refused: number; summary: string }> {
  const counts = { opened: 0, refused: 0 };
  const codes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(mutations, async (ms) => {
      const o = await sb.open(sb.file(`${name}.bin`, wrap(apply(seed, ms))), { readTensors: true, ...opts });
      check(o);
      if (!o.ok && 'error' in o) codes.set(o.error.code!, (codes.get(o.error.code!) ?? 0) + 1);
      if (o.ok) counts.opened++;
      else counts.refused++;
    }),
    { seed: testSeed(t, fcSeed), numRuns: FUZZ_RUNS, endOnFailure: true },
  );
  const summary = `${counts.opened} opened, ${counts.refused} refused (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')})`;
  return { ...counts, summary };
}

describe(`mutation fuzzing (${FUZZ_RUNS} cases per format)`, () => {
  it('GGUF files', async (t) => {
    const c = await fuzz(t, 'gguf', seedGguf(), (b) => b, 0x5eed06);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('scaled fp8 safetensors (marker and scale_weight)', async (t) => {
    const c = await fuzz(t, 'fp8', seedQuantised('fp8', (p, ts) => writeScaledFp8(p, ts, 'scale_weight', { inputScales: true })), (b) => b, 0x5eed07);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('bitsandbytes NF4 safetensors (double quantised)', async (t) => {
    const c = await fuzz(t, 'nf4', seedQuantised('nf4', (p, ts) => writeBnb4bit(p, ts, { nested: true })), (b) => b, 0x5eed08);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('torch zip archives', async (t) => {
    const c = await fuzz(t, 'zip', torchZipBytes(seedCheckpoint()).bytes, (b) => b, 0x5eed01);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('legacy raw pickle streams', async (t) => {
    const c = await fuzz(t, 'legacy', legacyBytes(seedCheckpoint()), (b) => b, 0x5eed02);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('checkpoint pickles (as data.pkl of an otherwise valid zip, so the unpickler sees every mutation)', async (t) => {
    const ckpt = seedCheckpoint();
    const storages = [...new Map(ckpt.tensors.map((t) => [t.storage.key, t.storage])).values()];
    const c = await fuzz(t, 'pickle', checkpointPickle(ckpt), (b) => zipWithPickle(b, storages), 0x5eed03);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('protocol 4 pickles (FRAME, STACK_GLOBAL, MEMOIZE)', async (t) => {
    const ckpt = seedCheckpoint();
    const storages = [...new Map(ckpt.tensors.map((t) => [t.storage.key, t.storage])).values()];
    const c = await fuzz(t, 'pickle4', checkpointPickle(ckpt, { protocol: 4 }), (b) => zipWithPickle(b, storages), 0x5eed04);
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });

  it('extract-weights mode: pickles with class-keyed callbacks, numpy scalars and a Namespace', async (t) => {
    const seed = seedCheckpoint();
    const ckpt: TorchCheckpoint = {
      ...seed,
      lightning: {
        ...seed.lightning!,
        more: [
          ['callbacks', { dict: [[{ global: ['pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint'] }, { dict: [['best_model_score', numpyScalar('f8', new Uint8Array(8))]] }]] }],
          ['best', numpyScalar('i4', Uint8Array.of(1, 2, 3, 4))],
          ['hparams', argparseNamespace([['lr', { float: 0.5 }], ['tags', ['a', 'b']]])],
        ],
      },
    };
    const storages = [...new Map(ckpt.tensors.map((t) => [t.storage.key, t.storage])).values()];
    const c = await fuzz(t, 'extract', checkpointPickle(ckpt), (b) => zipWithPickle(b, storages), 0x5eed05, { extractWeights: true });
    assert.equal(c.opened + c.refused, FUZZ_RUNS);
    t.diagnostic(c.summary);
  });
});
