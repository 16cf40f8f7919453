// The notebook's users reuse its plotting cells on our model_map_v2.json: run cells 22 and 24 (re-written from the
// seed in test/python/notebook_plots.py) with Debian's python3-networkx and python3-matplotlib on a folder where some
// models lack the text encoder or the VAE, which is where a null used to make numpy build an object array.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { makeFolder, zooSpec } from '../fixtures/synth';
import { tmpDir } from '../helpers/tmp';

const CLI = resolve(__dirname, '../../dist/cli.js');
const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(__dirname, '../python/notebook_plots.py');

test("the notebook's plotting cells draw every component of model_map_v2.json; 0 marks what result.json calls null", () => {
  const dir = tmpDir();
  const m = makeFolder(join(dir, 'models'), zooSpec('sd15'), {
    only: ['base.safetensors', 'ft_unet.safetensors', 'ft_te_partial.safetensors', 'swapped_vae.safetensors', 'no_vae.safetensors', 'no_te.safetensors'],
  });
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [CLI, 'compare', m.dir, '-o', out, '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  const map = JSON.parse(readFileSync(join(out, 'model_map_v2.json'), 'utf8')) as { ml: string[]; dm: Record<string, number[][]> };

  // the map is result.json's l2 with null written as 0, and nothing but numbers
  const idx = (f: string) => result.models.findIndex((x: { file: string }) => x.file === f);
  const [noVae, noTe, base] = [idx('no_vae.safetensors'), idx('no_te.safetensors'), idx('base.safetensors')];
  const pairOf = (a: number, b: number) => result.pairs.find((p: { a: number; b: number }) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
  assert.equal(pairOf(base, noVae).components.vae.l2, null);
  assert.equal(map.dm.vae![base]![noVae], 0);
  assert.equal(pairOf(noTe, base).components.te.l2, null);
  assert.equal(map.dm.te![noTe]![base], 0);
  const ft = idx('ft_unet.safetensors');
  assert.ok(map.dm.unet![base]![ft]! > 0);
  assert.equal(map.dm.unet![base]![ft], pairOf(base, ft).components.unet.l2);
  for (const mat of Object.values(map.dm)) for (const row of mat) for (const v of row) assert.equal(typeof v, 'number');

  const imgs = join(dir, 'img');
  spawnSync('mkdir', ['-p', imgs]);
  const py = spawnSync(PYTHON, [SCRIPT, join(out, 'model_map_v2.json'), imgs], { encoding: 'utf8' });
  assert.equal(py.status, 0, `the notebook's cells failed on our file:\n${py.stderr}`);
  const drawn = py.stdout.trim().split('\n');
  for (const c of Object.keys(map.dm)) {
    assert.ok(existsSync(join(imgs, `${c}_xy.png`)), `plotline drew ${c}`);
    const edges = map.dm[c]!.flatMap((row, i) => row.filter((v, j) => j > i && v !== 0)).length;
    if (edges > 0) {
      assert.ok(existsSync(join(imgs, `${c}_vg.png`)), `plot_vg drew ${c}`);
      assert.ok(drawn.includes(`vg ${c} ${edges} edges ${join(imgs, `${c}_vg.png`)}`), drawn.join('\n'));
    } else assert.ok(drawn.includes(`skip ${c}: no edges`), drawn.join('\n'));
  }
  assert.ok(drawn.some((l) => l.startsWith('vg te ')) && drawn.some((l) => l.startsWith('vg vae ')), 'te and vae are drawn');
});
