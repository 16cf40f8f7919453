import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { keyLayoutClasses, makePlan, planPair, differenceListCap } from '../../../src/compute/engine/plan';
import { loadModel } from '../../../src/compute/model/loadModel';
import { openCheckpoint } from '../../../src/compute/readers/registry';
import { base, cast, dropKeys, extraKeys, finetune, layout, materialize, reshape } from '../../fixtures/synth';
import { tmpDir } from '../../helpers/tmp';

test('plan: pairs of the same two key layouts share one plan, equal to working each pair out key by key', async () => {
  const dir = join(tmpDir('modeldiff-planlayouts-'), 'models');
  mkdirSync(dir);
  const L = layout('sd15', { scale: 64 });
  const sd = base(L, 1);
  const unetKey = L.tensors.find((t) => t.name.startsWith('model.diffusion_model.') && t.shape.length === 4)!;
  const teKey = L.tensors.find((t) => t.name.startsWith('cond_stage_model.') && t.dtype === 'F32' && t.shape.length === 2)!.name;
  const write = (name: string, r: Parameters<typeof materialize>[0], style: 'sorted-by-name' | 'dtype-then-name' = 'sorted-by-name') => materialize(r, join(dir, name), { style });
  write('a0.safetensors', sd);
  write('a1.safetensors', finetune(sd, { components: ['unet'], sigma: 0.01, seed: 2 }), 'dtype-then-name'); // same layout, other order
  write('a2.safetensors', cast(sd, 'F16')); // every dtype differs
  write('a3.safetensors', cast(sd, 'F16', { filter: (k) => k === teKey })); // one dtype differs
  write('b0.safetensors', dropKeys(sd, [teKey]));
  write('b1.safetensors', dropKeys(finetune(sd, { components: ['te'], sigma: 0.01, seed: 3 }), [teKey]));
  write('c0.safetensors', reshape(sd, unetKey.name, unetKey.shape.map((d, i) => (i === 1 ? d + 1 : d))));
  write('d0.safetensors', extraKeys(sd, [{ name: 'logvar', shape: [1000] }]));
  write('x0.safetensors', base(layout('sdxl_base', { scale: 64 }), 5));
  write('x1.safetensors', base(layout('sdxl_base', { scale: 64 }), 6));
  const files = readdirSync(dir).sort();
  const models = [];
  for (const f of files) models.push(loadModel(await openCheckpoint(join(dir, f)), models.length));

  const classes = [...keyLayoutClasses(models)];
  const same = (x: string, y: string) => classes[files.indexOf(x)] === classes[files.indexOf(y)];
  assert.ok(same('a0.safetensors', 'a1.safetensors') && same('b0.safetensors', 'b1.safetensors') && same('x0.safetensors', 'x1.safetensors'));
  assert.equal(new Set(classes).size, 7, `layout classes ${classes}`);

  for (const opts of [{ components: null, includeEma: true }, { components: ['unet', 'te'], includeEma: true }]) {
    const plan = makePlan(models, opts);
    const cap = differenceListCap(plan.pairs.length);
    let listed = 0;
    for (const pp of plan.pairs) {
      const direct = planPair(models, pp.a, pp.b, plan.keys, plan.keyComponents, cap);
      assert.deepEqual(pp.components, direct.components, `${files[pp.a]} / ${files[pp.b]}`);
      assert.deepEqual(pp.differences, direct.differences, `${files[pp.a]} / ${files[pp.b]}`);
      listed += direct.differences.only_a.length + direct.differences.only_b.length + direct.differences.mismatched.length + direct.differences.dtype.length;
    }
    assert.ok(listed > 1000, `the folder exercises the difference lists (${listed} entries)`);
  }
});
