// The architecture table is the one home of what each family has: the derived views agree with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARCHITECTURES, componentPrefix, isModelComponent, KNOWN_COMPONENT_IDS } from '../../../src/compute/keys/architectures';
import { EXPECTED_COMPONENTS, KNOWN_PREFIXES } from '../../../src/compute/analysis/health';
import { pairLayout, unetLayoutOf } from '../../../src/compute/analysis/groups';
import { familyComponentOf } from '../../../src/compute/keys/components';
import { SD_COMPONENTS } from '../../../src/shared/result';

test('every row: a unique id, a label, components with distinct ids and prefixes that the display order knows', () => {
  const ids = ARCHITECTURES.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const a of ARCHITECTURES) {
    assert.ok(a.label.length > 0);
    const cs = a.components.map((c) => c.id);
    assert.equal(new Set(cs).size, cs.length, a.id);
    for (const c of a.components) {
      assert.ok((SD_COMPONENTS as readonly string[]).includes(c.id), `${a.id}.${c.id} has a display position`);
      assert.ok(!c.tree || c.tree.startsWith(c.prefix), `${a.id}.${c.id}: tree under its prefix`);
      assert.equal(familyComponentOf(a.id, c.prefix + 'x.weight'), c.id);
      assert.ok(c.kind.length > 0 && c.name.length > 0, `${a.id}.${c.id}: a kind and a name`);
    }
  }
  // one component id, one canonical prefix, whatever the family (componentPrefix relies on it)
  for (const id of KNOWN_COMPONENT_IDS) {
    const prefixes = new Set(ARCHITECTURES.flatMap((a) => a.components.filter((c) => c.id === id).map((c) => c.prefix)));
    assert.equal(prefixes.size, 1, id);
  }
});

test('FLUX.1 and SD3 rows: the transformer, the text encoders by their names, the merge blocks', () => {
  assert.deepEqual(EXPECTED_COMPONENTS['flux-dev'], ['transformer', 'clip_l', 't5xxl', 'vae']);
  assert.deepEqual(EXPECTED_COMPONENTS['sd3-medium'], ['transformer', 'clip_l', 'clip_g', 't5xxl', 'vae']);
  assert.equal(unetLayoutOf('flux-dev'), 'flux');
  assert.equal(unetLayoutOf('sd35-large'), 'sd3');
  assert.equal(pairLayout('flux-dev', 'sd1'), 'flux');
  assert.equal(componentPrefix('transformer'), 'model.diffusion_model.');
  assert.equal(componentPrefix('t5xxl'), 'text_encoders.t5xxl.');
});

test('the views derived from the table: expected components, known key trees, merge blocks, prefixes', () => {
  assert.deepEqual(EXPECTED_COMPONENTS['sdxl-base'], ['unet', 'te0', 'te1', 'vae']);
  assert.deepEqual(EXPECTED_COMPONENTS['sdxl-refiner'], ['unet', 'te1', 'vae']);
  assert.deepEqual(EXPECTED_COMPONENTS.sd1, ['unet', 'te', 'vae']);
  assert.deepEqual(EXPECTED_COMPONENTS.generic, []);
  assert.ok(KNOWN_PREFIXES.sd1.includes('cond_stage_model.transformer.') && !KNOWN_PREFIXES.sd1.includes('cond_stage_model.model.'));
  assert.ok(KNOWN_PREFIXES['sdxl-base'].includes('conditioner.embedders.0.transformer.'));
  assert.equal(unetLayoutOf('sdxl-base'), 'sdxl');
  assert.equal(unetLayoutOf('sdxl-refiner'), 'sd');
  assert.equal(unetLayoutOf('generic'), 'sd');
  assert.equal(pairLayout('sdxl-base', 'generic'), 'sdxl');
  assert.equal(pairLayout('sdxl-base', 'sd1'), 'sd');
  assert.equal(componentPrefix('te0'), 'conditioner.embedders.0.');
  assert.equal(componentPrefix('model'), undefined);
  assert.deepEqual(['unet', 'te', 'te0', 'te1', 'vae', 'ema', 'other'].filter(isModelComponent), ['unet', 'te', 'te0', 'te1', 'vae']);
});
