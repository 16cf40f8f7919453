/**
 * A compare run over LoRAs multiplies their factors in long synchronous steps; it runs in a thread of its own
 * (workers/loraCompareWorker.ts), so SIGINT and SIGTERM stop it mid-work like a checkpoint run: exit 130 or 143, the
 * earlier result in the output folder untouched byte for byte, and nothing left beside it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { kohyaLora, writeLora } from '../fixtures/lora';
import { tmpDir } from '../helpers/tmp';
import { assertNoDebris, assertUnchanged, assertWhole, snapshot } from './fixture';
import { spawnCompare, type Ended } from './spawnCompare';

const root = tmpDir('modeldiff-lora-signals-');

/** kohya names of SD 1.5's attention and feed-forward projections (192 modules). */
function sd15Modules(): string[] {
  const blocks = [
    ...[0, 1, 2].flatMap((b) => [0, 1].map((a) => `down_blocks_${b}_attentions_${a}`)),
    ...[1, 2, 3].flatMap((b) => [0, 1, 2].map((a) => `up_blocks_${b}_attentions_${a}`)),
    'mid_block_attentions_0',
  ];
  const inBlock = ['proj_in', 'proj_out', 'ff_net_0_proj', 'ff_net_2', ...['attn1', 'attn2'].flatMap((at) => ['to_q', 'to_k', 'to_v', 'to_out_0'].map((p) => `${at}_${p}`))];
  return blocks.flatMap((b) => inBlock.map((m) => `lora_unet_${b}_${m.startsWith('proj') ? m : `transformer_blocks_0_${m}`}`));
}

/** `count` kohya LoRAs of rank 16 on SD 1.5's 192 projections, as 256 x 256 weights: seconds of pairwise work. */
function writeLoras(dir: string, count: number): string[] {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let l = 0; l < count; l++) {
    const modules = sd15Modules().map((name, k) =>
      kohyaLora({ name, target: { key: name, shape: [256, 256] }, out: 256, in: 256, rank: 16, alpha: 8, dtype: 'F16', seed: 1000 * l + k }),
    );
    const path = join(dir, `lora${l}.safetensors`);
    writeLora(path, modules);
    paths.push(path);
  }
  return paths;
}

/** `modeldiff compare`; `stop` is sent once the run is comparing (its staging folder has layers.bin). */
function compare(inputs: string[], out: string, stop?: NodeJS.Signals): Promise<Ended> {
  return spawnCompare(inputs, out, stop ? { stop: { signal: stop, when: join(`${out}.partial`, 'layers.bin') } } : {});
}

describe('SIGINT and SIGTERM during a LoRA compare', () => {
  let loras: string[] = [];
  let full: Ended;
  before(async () => {
    loras = writeLoras(join(root, 'loras'), 10);
    full = await compare(loras, join(root, 'reference'));
  });

  for (const [stop, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${stop} mid-run: exit ${code}, the earlier result untouched, nothing left beside it`, async () => {
      assert.equal(full.code, 0, full.stderr);
      const out = join(root, `out-${stop}`);
      assert.equal((await compare(loras.slice(0, 3), out)).code, 0);
      const old = snapshot(out);
      const stopped = await compare(loras, out, stop);
      assert.equal(stopped.signal, null, `handled, not killed by ${stop}`);
      assert.equal(stopped.code, code, stopped.stderr);
      assert.match(stopped.stderr, /cancelled/);
      assertUnchanged(out, old);
      assertNoDebris(out);
      assert.equal(assertWhole(out).models.length, 3);
    });
  }
});
