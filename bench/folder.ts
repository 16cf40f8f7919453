// The benchmark folders: N fp16 models of one key layout at 1/scale width, fine-tunes and merges of each other, as
// people's merge folders are. Generated once into .bench/ and reused.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base, cast, componentOf, finetune, fromFile, layout, materialize, merge, type Component, type LayoutName, type Recipe } from '../test/fixtures/synth';

export interface FolderSpec {
  /** what BENCH_FOLDERS names it by */
  name: string;
  layout: LayoutName;
  scale: number;
  n: number;
}

/** The folders `npm run bench` knows; BENCH_FOLDERS picks among them. */
export const FOLDERS: readonly FolderSpec[] = [
  { name: 'sd15-16', layout: 'sd15', scale: 4, n: 16 },
  { name: 'sd15-64', layout: 'sd15', scale: 4, n: 64 },
  // all 2,515 keys of SDXL base at 1/16 width: 27 MB a model, 6.4 GB in all
  { name: 'sdxl-232', layout: 'sdxl_base', scale: 16, n: 232 },
  // 1,145 keys of SD1.5 at 1/32 width: 2.1 MB a model, 2.1 GB in all; 499,500 pairs
  { name: 'sd15-1000', layout: 'sd15', scale: 32, n: 1000 },
];

export function benchFolder(root: string, spec: FolderSpec): string {
  const { layout: name, scale, n } = spec;
  const dir = join(root, `${name}-w${scale}-n${n}`);
  const marker = join(dir, '.complete');
  const version = name === 'sd15' ? `v1 n=${n} scale=${scale}` : `v1 ${name} n=${n} scale=${scale}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === version) return dir;
  mkdirSync(dir, { recursive: true });
  const L = layout(name, { scale });
  const trained = [...new Set(L.tensors.map((t) => componentOf(t.name)))].filter((c): c is Component => c === 'te' || c === 'te0' || c === 'te1');
  // Each model is written, then read back as the parent of later ones, so no recipe chain is recomputed.
  const models: Recipe[] = [];
  const add = (i: number, r: Recipe) => {
    const file = join(dir, `m${String(i).padStart(n > 999 ? 4 : 3, '0')}.safetensors`);
    if (!existsSync(file)) materialize(r, file, { dtype: 'F16', style: 'dtype-then-name' });
    models.push(fromFile(file));
    process.stderr.write(`\rgenerating ${dir}: ${i + 1}/${n}`);
  };
  add(0, cast(base(L, 1), 'F16'));
  for (let i = 1; i < n; i++) {
    const parent = models[Math.floor(hash(i) * i)]!;
    if (i % 4 === 3) add(i, merge([models[i - 1]!, models[i - 3]!], [0.5, 0.5]));
    else if (i % 4 === 2) add(i, finetune(parent, { components: ['unet', ...trained], sigma: 0.002, seed: 100 + i, fraction: 0.6 }));
    else add(i, finetune(parent, { components: ['unet'], sigma: 0.001, seed: 100 + i }));
  }
  process.stderr.write('\n');
  writeFileSync(marker, version);
  return dir;
}

function hash(i: number): number {
  let x = (i * 2654435761) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  return (x >>> 0) / 4294967296;
}
