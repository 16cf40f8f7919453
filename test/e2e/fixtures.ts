/**
 * The workspace the end-to-end tests open, generated (never real checkpoints):
 *   zoo/      six small SD1.5-layout models from the synthetic zoo, an exact copy of one (a known identical pair),
 *             a 0.7/0.3 merge of two of them that declares its parents (modelspec.merged_from), and one broken
 *             file (a per-file error);
 *   hostile/  two models whose metadata, tensor names and file name hold markup and script (must render inert);
 *   big/      many 4 MiB models, so a comparison runs long enough to be cancelled;
 *   large/    a compare output at the notebook's scale (232 SDXL-layout models, 26,796 pairs), written directly as
 *             result.json + layers.bin (test/fixtures/largeResult.ts) beside its small model files.
 * Usage: node --import tsx test/e2e/fixtures.ts <workspace> [bigModels]
 * Prints a JSON manifest of what the tests may expect.
 */
import { copyFileSync, mkdirSync, openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { makeFolder, materialize, merge, zooSpec } from '../fixtures/synth';
import { writeSafetensors } from '../fixtures/safetensorsWriter';
import { writeLargeResult } from '../fixtures/largeResult';

const ws = process.argv[2];
if (!ws) throw new Error('usage: fixtures.ts <workspace> [bigModels]');
const bigModels = Number(process.argv[3] ?? 400);

// zoo/ ---------------------------------------------------------------------------------------------------------
const zoo = join(ws, 'zoo');
const sd15 = zooSpec('sd15');
makeFolder(zoo, sd15, {
  only: ['base.safetensors', 'ft_unet.safetensors', 'swapped_vae.safetensors', 'no_vae.safetensors', 'inpaint_shape.safetensors', 'base_fp32.safetensors'],
});
copyFileSync(join(zoo, 'base.safetensors'), join(zoo, 'base_copy.safetensors'));
const recipeOf = (file: string) => sd15.models.find((m) => m.file === file)!.recipe;
const MERGED = { file: 'merged.safetensors', parents: ['base.safetensors', 'ft_unet.safetensors'], weights: [0.7, 0.3] };
materialize(merge(MERGED.parents.map(recipeOf), MERGED.weights), join(zoo, MERGED.file), {
  metadata: { 'modelspec.title': 'merged', 'modelspec.merged_from': MERGED.parents.join(', ') },
});
// a header length far beyond the file: a per-file error, the rest is still compared
const broken = Buffer.alloc(64);
broken.writeBigUInt64LE(1n << 40n, 0);
writeFileSync(join(zoo, 'broken.safetensors'), broken);

// hostile/ -----------------------------------------------------------------------------------------------------
export const HOSTILE = {
  metadataKey: 'title',
  metadataValue: '<img src=x onerror="window.__pwned=1;alert(1)">',
  metadataScript: '<script>window.__pwned=2;alert(2)</script>',
  tensorName: '<img src=x onerror=alert(3)>.weight',
  tensorName2: '<b id="injected">bold</b>',
  fileName: '"><svg onload=alert(4)>.safetensors',
};
const hostile = join(ws, 'hostile');
mkdirSync(hostile, { recursive: true });
const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
for (const [file, bump] of [['evil.safetensors', 0], [HOSTILE.fileName, 1]] as const) {
  writeSafetensors(
    join(hostile, file),
    [
      { name: HOSTILE.tensorName, dtype: 'F32', shape: [4], data: f32([1, 2, 3, 4 + bump]) },
      { name: HOSTILE.tensorName2, dtype: 'F32', shape: [2, 2], data: f32([0.5, 0.25, 0.125, 0]) },
      { name: 'model.diffusion_model.out.2.weight', dtype: 'F32', shape: [3], data: f32([1, 1, 1]) },
    ],
    { metadata: { [HOSTILE.metadataKey]: HOSTILE.metadataValue, description: HOSTILE.metadataScript } },
  );
}

// export/: where the Export Report test writes
mkdirSync(join(ws, 'export'), { recursive: true });

// big/ ---------------------------------------------------------------------------------------------------------
// Every model differs from every other in every tensor, so no identical-group shortcut applies.
const big = join(ws, 'big');
mkdirSync(big, { recursive: true });
const ELEMENTS = 1 << 20;
const TENSORS = 4;
const per = ELEMENTS / TENSORS;
const values = new Float32Array(ELEMENTS);
for (let i = 0; i < ELEMENTS; i++) values[i] = Math.sin(i * 0.37) * 0.05;
const header: Record<string, unknown> = {};
for (let t = 0; t < TENSORS; t++) header[`model.diffusion_model.block.${t}.weight`] = { dtype: 'F32', shape: [per], data_offsets: [t * per * 4, (t + 1) * per * 4] };
let h = JSON.stringify(header);
while ((8 + h.length) % 8) h += ' ';
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(h.length));
const data = Buffer.from(values.buffer);
for (let f = 0; f < bigModels; f++) {
  for (let t = 0; t < TENSORS; t++) values[t * per + (f % per)]! += 0.001;
  const fd = openSync(join(big, `m${String(f).padStart(4, '0')}.safetensors`), 'w');
  writeSync(fd, len);
  writeSync(fd, h);
  writeSync(fd, data);
  closeSync(fd);
}

// large/ --------------------------------------------------------------------------------------------------------
const large = writeLargeResult(join(ws, 'large'), { models: Number(process.env.E2E_LARGE_MODELS ?? 232), families: 8, files: true });

process.stdout.write(
  JSON.stringify({
    zoo: {
      dir: zoo,
      models: ['base.safetensors', 'base_copy.safetensors', 'base_fp32.safetensors', 'ft_unet.safetensors', 'inpaint_shape.safetensors', 'merged.safetensors', 'no_vae.safetensors', 'swapped_vae.safetensors'],
      merged: MERGED,
      // a model whose health check warns (no VAE)
      unhealthy: 'no_vae.safetensors',
      broken: 'broken.safetensors',
      identicalPair: ['base.safetensors', 'base_copy.safetensors'],
      // per-layer keys every SD1.5 pair lists
      layerKeys: ['model.diffusion_model.out.2.weight', 'first_stage_model.decoder.conv_in.weight', 'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight'],
      mismatchPair: ['base.safetensors', 'inpaint_shape.safetensors'],
      mismatchKey: 'model.diffusion_model.input_blocks.0.0.weight',
      onlyInAPair: ['base.safetensors', 'no_vae.safetensors'],
    },
    hostile: { dir: hostile, ...HOSTILE },
    big: { dir: big, models: bigModels, bytesEach: 8 + h.length + ELEMENTS * 4 },
    large: { dir: large.outDir, models: large.models.map((m) => ({ file: m.file, family: m.family, kind: m.kind, source: m.source })), pairs: large.pairs, special: large.special, families: 8 },
    exportDir: join(ws, 'export'),
  }) + '\n',
);
