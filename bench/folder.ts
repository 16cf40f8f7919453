// The benchmark folder: N SD1.5-layout fp16 models at 1/4 width (about 134 MB each), fine-tunes and merges of
// each other, as people's merge folders are. Generated once into .bench/ and reused.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base, cast, finetune, fromFile, layout, materialize, merge, type Recipe } from '../test/fixtures/synth';

export function benchFolder(root: string, n: number, scale = 4): string {
  const dir = join(root, `sd15-w${scale}-n${n}`);
  const marker = join(dir, '.complete');
  const spec = `v1 n=${n} scale=${scale}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === spec) return dir;
  mkdirSync(dir, { recursive: true });
  const L = layout('sd15', { scale });
  // Each model is written, then read back as the parent of later ones, so no recipe chain is recomputed.
  const models: Recipe[] = [];
  const add = (i: number, r: Recipe) => {
    const file = join(dir, `m${String(i).padStart(3, '0')}.safetensors`);
    if (!existsSync(file)) materialize(r, file, { dtype: 'F16', style: 'dtype-then-name' });
    models.push(fromFile(file));
    process.stderr.write(`\rgenerating ${dir}: ${i + 1}/${n}`);
  };
  add(0, cast(base(L, 1), 'F16'));
  for (let i = 1; i < n; i++) {
    const parent = models[Math.floor(hash(i) * i)]!;
    if (i % 4 === 3) add(i, merge([models[i - 1]!, models[i - 3]!], [0.5, 0.5]));
    else if (i % 4 === 2) add(i, finetune(parent, { components: ['unet', 'te'], sigma: 0.002, seed: 100 + i, fraction: 0.6 }));
    else add(i, finetune(parent, { components: ['unet'], sigma: 0.001, seed: 100 + i }));
  }
  process.stderr.write('\n');
  writeFileSync(marker, spec);
  return dir;
}

function hash(i: number): number {
  let x = (i * 2654435761) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  return (x >>> 0) / 4294967296;
}
