import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel } from '../../../src/compute/model/loadModel';
import { MAX_METADATA_CHARS } from '../../../src/compute/model/limits';
import type { Checkpoint } from '../../../src/compute/model/checkpoint';

const checkpoint = (metadata: Record<string, string>): Checkpoint => ({
  path: '/m/x.safetensors',
  format: 'safetensors',
  sizeBytes: 8,
  tensors: [{ name: 'model.diffusion_model.out.2.bias', dtype: 'F32', shape: [2], numel: 2, file: '/m/x.safetensors', offset: 0, byteLength: 8 }],
  metadata,
  notes: [],
  files: [],
});

test('a model keeps at most MAX_METADATA_CHARS of metadata in the result, the largest values left out first, with a note', () => {
  const small = { 'modelspec.title': 'mine', sd_merge_recipe: '{"a":1}' };
  assert.deepEqual(loadModel(checkpoint(small), 0).info.metadata, small);
  const m = loadModel(checkpoint({ ...small, blob: 'x'.repeat(90 * 1024 * 1024), thumb: 'y'.repeat(200_000) }), 0).info;
  assert.deepEqual(Object.keys(m.metadata).sort(), ['modelspec.title', 'sd_merge_recipe', 'thumb']);
  assert.ok(m.notes.some((n) => /^1 metadata entry was left out of the result \("blob"\): a model keeps at most 1048576 characters/.test(n)), m.notes.join('\n'));
  assert.ok(Object.entries(m.metadata).reduce((s, [k, v]) => s + k.length + v.length, 0) <= MAX_METADATA_CHARS);
});

test('a tensor name over the limit or too many tensors are refused by loadModel, whatever the reader', () => {
  const c = checkpoint({});
  assert.throws(() => loadModel({ ...c, tensors: [{ ...c.tensors[0]!, name: 'n'.repeat(2000) }] }, 0), /MODEL_LIMIT|tensor name of 2000 characters/);
  const many = Array.from({ length: 100_001 }, (_, i) => ({ ...c.tensors[0]!, name: `t${i}` }));
  assert.throws(() => loadModel({ ...c, tensors: many }, 0), (e: { code?: string }) => e.code === 'MODEL_LIMIT');
});
