// A model's tensors are held in columns (model/modelTensors.ts): the refs made from them are the refs the reader made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint, TensorRef } from '../../../src/compute/model/checkpoint';
import { loadModel } from '../../../src/compute/model/loadModel';
import { SharedHeaders } from '../../../src/compute/model/sharedHeaders';
import { makePlan } from '../../../src/compute/engine/plan';

const plain = (name: string, offset: number, file = '/m/a.safetensors'): TensorRef => ({ name, dtype: 'F16', shape: [2, 3], numel: 6, file, offset, byteLength: 12 });

/** A model of every kind of ref: plain runs in two files, a strided view, q/k/v parts, quantised codes, big-endian. */
function refsOfEveryKind(file: string): TensorRef[] {
  return [
    plain('model.diffusion_model.input_blocks.0.0.weight', 100, file),
    plain('model.diffusion_model.input_blocks.0.0.bias', 112, `${file}.part2`),
    { ...plain('model.diffusion_model.out.0.weight', 124, file), strides: [1, 2] },
    { ...plain('model.diffusion_model.out.0.bias', 136, file), parts: [{ offset: 136, byteLength: 6 }, { offset: 300, byteLength: 6 }] },
    { name: 'model.diffusion_model.out.2.weight', dtype: 'Q8_0', shape: [32], numel: 32, file, offset: 400, byteLength: 34, quant: { scheme: 'ggml', type: 'Q8_0', blockElements: 32, blockBytes: 34 } },
    { ...plain('model.diffusion_model.out.2.bias', 500, file), byteOrder: 'big' },
    { ...plain('model.diffusion_model.time_embed.0.bias', 2 ** 40, file), byteOrder: 'little' },
  ];
}

function checkpoint(path: string, tensors: TensorRef[]): Checkpoint {
  return { path, format: 'safetensors', sizeBytes: 1000, tensors, metadata: {}, notes: [], files: [] };
}

test('every ref comes back as the reader made it, in the order of the model, with or without shared headers', () => {
  for (const shared of [undefined, new SharedHeaders()]) {
    const made = refsOfEveryKind('/m/a.safetensors');
    const model = loadModel(checkpoint('/m/a.safetensors', structuredClone(made)), 0, shared);
    assert.deepEqual(
      [...model.tensors].map(([, e]) => e.ref),
      made,
    );
    assert.equal(model.tensors.size, made.length);
    made.forEach((r, i) => {
      assert.deepEqual(model.tensors.refAt(i), r);
      assert.deepEqual(model.tensors.shapeAt(i), r.shape);
      assert.equal(model.tensors.dtypeAt(i), r.dtype);
    });
  }
});

test('a plain ref keeps the property order of the safetensors reader (the resume fingerprint is JSON of the refs)', () => {
  const r = plain('model.diffusion_model.out.2.bias', 64);
  const model = loadModel(checkpoint('/m/a.safetensors', [{ ...r }]), 0);
  assert.equal(JSON.stringify(model.tensors.get(model.tensors.keys()[0]!)!.ref), JSON.stringify(r));
});

test('models of one tensor table share its key set and ref layout; their own offsets and files stay their own', () => {
  const shared = new SharedHeaders();
  const a = loadModel(checkpoint('/m/a.safetensors', refsOfEveryKind('/m/a.safetensors')), 0, shared);
  const b = loadModel(checkpoint('/m/b.safetensors', refsOfEveryKind('/m/b.safetensors').map((r) => ({ ...r, offset: r.offset + 8 }))), 1, shared);
  const c = loadModel(checkpoint('/m/c.safetensors', refsOfEveryKind('/m/c.safetensors').map((r, i) => (i === 0 ? { ...r, shape: [3, 2] } : r))), 2, shared);
  assert.equal(a.tensors.set, b.tensors.set);
  assert.equal(a.tensors.layout, b.tensors.layout);
  assert.notEqual(a.tensors.layout, c.tensors.layout);
  assert.equal(b.tensors.refAt(0).offset, 108);
  assert.equal(b.tensors.refAt(0).file, '/m/b.safetensors');
  assert.equal(b.tensors.refAt(1).file, '/m/b.safetensors.part2');
  // the plan's units hold the members' own refs
  const plan = makePlan([a, b, c], { components: null, includeEma: true });
  for (const u of plan.units) {
    for (let i = 0; i < u.members.length; i++) {
      const model = [a, b, c][u.members.model(i)]!;
      assert.deepEqual(u.members.ref(i), model.tensors.get(plan.keys[u.key]!)!.ref);
    }
  }
  // the first key's shape differs in c: two units, c alone in one of them
  const firstKey = plan.keys.indexOf(a.tensors.keys()[0]!);
  const units = plan.units.filter((u) => u.key === firstKey);
  assert.deepEqual(
    units.map((u) => [...u.members.models]),
    [[0, 1], [2]],
  );
});
