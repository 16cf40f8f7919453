/**
 * The worker pool hands back units nearly in fold order, so the fold holds few partial sums at a time. (All tasks
 * queued in piscina at once came back cycling through the folder several times: piscina puts a task it cannot place
 * yet at the queue's tail. At 232 SDXL models the fold then held 370 leaf partials, 400 MiB.)
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makePlan } from '../../src/compute/engine/plan';
import { engineTasks, runEngine } from '../../src/compute/engine/runEngine';
import { loadModel, type LoadedModel } from '../../src/compute/model/loadModel';
import { openCheckpoint } from '../../src/compute/readers/registry';
import { writeFaultModels } from '../faults/fixture';
import { tmpDir } from '../helpers/tmp';

test('the pool returns units in fold order, give or take the tasks in flight', async () => {
  const dir = join(tmpDir('modeldiff-order-'), 'm');
  mkdirSync(dir);
  const files = writeFaultModels(dir, ['a.safetensors', 'b.safetensors', 'c.safetensors', 'd.safetensors'], { tensors: 40, elements: 1 << 12 });
  const models: LoadedModel[] = [];
  for (const f of files) models.push(loadModel(await openCheckpoint(f), models.length));
  const plan = makePlan(models, { components: null, includeEma: true });
  const opts = { workers: 2, memoryBudgetMiB: 64, kernels: 'wasm' as const, taskWork: 1 };
  const tasks = engineTasks(plan, opts);
  // one unit per task: a unit's place in the fold order is its task's place in the queue
  assert.ok(tasks.every((t) => t.items.length === 1));
  assert.equal(tasks.length, plan.units.length);
  assert.ok(tasks.length >= 100, `${tasks.length} tasks`);
  const place = new Map(tasks.map((t, i) => [t.items[0]!.unit, i]));

  const arrived: number[] = [];
  await runEngine(plan, { ...opts, tasks }, (u) => arrived.push(place.get(u.id)!));
  assert.deepEqual([...arrived].sort((x, y) => x - y), tasks.map((_, i) => i));
  // Units still to come from before the furthest one back (each keeps a partial of the fold waiting): at most the
  // tasks in flight, workers x 2.
  let furthest = -1;
  let outstanding = 0;
  arrived.forEach((p, i) => {
    furthest = Math.max(furthest, p);
    outstanding = Math.max(outstanding, furthest + 1 - (i + 1));
  });
  assert.ok(outstanding <= 4, `${outstanding} units outstanding behind the furthest; arrival order ${arrived.join(' ')}`);
});
