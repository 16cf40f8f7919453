// npm run demo: generates a small folder of synthetic SD 1.5 checkpoints with known relations (fine-tunes, a merge,
// an fp32 copy, a NovelAI-renamed copy, a swapped VAE, missing components, a full-EMA file...) and runs the
// comparison on it, then shows a per-layer table, a pair drill-down, the health checks, and writes the HTML report.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeFolder, zooSpec } from '../test/fixtures/synth';

const root = resolve(__dirname, '..');
const demo = join(root, '.demo');
const models = join(demo, 'models');
const out = join(demo, 'out');
if (!existsSync(join(models, 'base.safetensors'))) {
  rmSync(models, { recursive: true, force: true });
  process.stderr.write(`generating sample models in ${models} ...\n`);
  makeFolder(models, zooSpec('sd15', 16));
}
const cli = (...args: string[]) => {
  process.stdout.write(`\n$ modeldiff ${args.map((a) => a.replace(root + '/', '')).join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { stdio: 'inherit' });
  return r.status ?? 1;
};
const status = cli('compare', models, '--out', out);
cli('layers', out, 'base', 'ft_te_partial', '--component', 'te', '--sort', 'l2', '--top', '8');
cli('pair', join(models, 'base.safetensors'), join(models, 'merge_ft_unet_ft_te.safetensors'));
cli('health', out);
const report = cli('report', out);
process.stdout.write(`\nOutputs: ${out}/result.json, model_map_v2.json, layers.bin, analysis.json${report === 0 ? `, and the report to open in a browser: ${join(out, 'report.html')}` : ''}\n`);
process.exitCode = status === 0 ? 0 : status;
