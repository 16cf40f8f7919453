// LoRA all-pairs benchmark: N kohya LoRAs of rank 32 on SDXL's usual targets (every attention and feed-forward
// projection of the UNet's transformer blocks, proj_in/proj_out, both text encoders), generated once into .bench/,
// compared all-pairs in one process. Prints wall time, peak RSS, multiply-adds done and the rate, and from that rate
// the time the same run would take at full width.
//
//   node --import tsx bench/lora.ts                 # N=300, 1/16 width, all 922 targets
//   BENCH_LORA_N=300 BENCH_LORA_SCALE=1 BENCH_LORA_KEYS=4 node --import tsx bench/lora.ts   # full width, 4 targets
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../src/compute/index';
import { forEachKeyPairs, PairTotals, readLora, type LoraModel } from '../src/compute/lora/index';
import { encode, f16Bits, writeSafetensors, type WriterTensor } from '../test/fixtures/safetensorsWriter';
import { layout, rngFor } from '../test/fixtures/synth';

const root = resolve(__dirname, '..');
const N = Number(process.env.BENCH_LORA_N ?? 300);
const SCALE = Number(process.env.BENCH_LORA_SCALE ?? 16);
const RANK = Number(process.env.BENCH_LORA_RANK ?? 32);
/** 0 = all targets; k > 0 = k representative targets (for full-width timing) */
const KEYS = Number(process.env.BENCH_LORA_KEYS ?? 0);

interface Module {
  name: string;
  out: number;
  in: number;
}

/** kohya module names and shapes of SDXL's LoRA targets, from the SDXL layout at 1/scale width. */
function sdxlModules(scale: number): Module[] {
  const out: Module[] = [];
  for (const t of layout('sdxl_base', { scale }).tensors) {
    if (t.shape.length !== 2) continue;
    let m = /^model\.diffusion_model\.(.+\.1\.(transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2))|proj_in|proj_out))\.weight$/.exec(t.name);
    if (m) {
      out.push({ name: `lora_unet_${m[1]!.replace(/\./g, '_')}`, out: t.shape[0]!, in: t.shape[1]! });
      continue;
    }
    m = /^conditioner\.embedders\.0\.transformer\.(text_model\.encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12]))\.weight$/.exec(t.name);
    if (m) {
      out.push({ name: `lora_te1_${m[1]!.replace(/\./g, '_')}`, out: t.shape[0]!, in: t.shape[1]! });
      continue;
    }
    m = /^conditioner\.embedders\.1\.model\.transformer\.resblocks\.(\d+)\.(attn\.in_proj_weight|attn\.out_proj\.weight|mlp\.c_fc\.weight|mlp\.c_proj\.weight)$/.exec(t.name);
    if (m) {
      const at = `lora_te2_text_model_encoder_layers_${m[1]}_`;
      const w = t.shape[1]!;
      if (m[2] === 'attn.in_proj_weight') for (const p of ['q', 'k', 'v']) out.push({ name: `${at}self_attn_${p}_proj`, out: w, in: w });
      else out.push({ name: at + { 'attn.out_proj.weight': 'self_attn_out_proj', 'mlp.c_fc.weight': 'mlp_fc1', 'mlp.c_proj.weight': 'mlp_fc2' }[m[2]!]!, out: t.shape[0]!, in: w });
    }
  }
  return out;
}

/** A few targets that stand for the rest at full width: a 640 and a 1280 attention projection, a feed-forward, OpenCLIP q/k/v. */
function representative(all: Module[], k: number): Module[] {
  const picks = [
    /^lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q$/,
    /^lora_unet_middle_block_1_transformer_blocks_0_attn1_to_q$/,
    /^lora_unet_middle_block_1_transformer_blocks_0_ff_net_0_proj$/,
    /^lora_te2_text_model_encoder_layers_0_self_attn_[qkv]_proj$/,
  ];
  return all.filter((m) => picks.slice(0, k).some((re) => re.test(m.name)));
}

function benchFolder(modules: Module[]): string {
  const dir = join(root, '.bench', `lora-sdxl-w${SCALE}-r${RANK}-k${KEYS}-n${N}`);
  const marker = join(dir, '.complete');
  const spec = `v3 n=${N} scale=${SCALE} rank=${RANK} keys=${KEYS}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === spec) return dir;
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < N; i++) {
    const file = join(dir, `lora${String(i).padStart(3, '0')}.safetensors`);
    if (existsSync(file)) continue; // written whole (renamed into place) by an earlier, interrupted run
    // every tenth LoRA is the previous one re-factored (up x 2, down / 2): the same delta in other bytes
    const seed = i % 10 === 9 ? i - 1 : i;
    const exponentStep = i % 10 === 9 ? 1 : 0;
    const tensors: WriterTensor[] = [];
    for (const m of modules) {
      const rng = rngFor(seed, 'bench-lora', m.name);
      // F16 bits of N(0, 0.05) values kept 0.002 away from 0, so that x2 and /2 are exact (a step of the exponent)
      const gen = (n: number, step: number) => {
        const bits = new Uint16Array(n);
        for (let e = 0; e < n; e++) {
          const x = 0.05 * rng.normal();
          bits[e] = f16Bits(x + Math.sign(x || 1) * 0.002) + step * 1024;
        }
        return new Uint8Array(bits.buffer);
      };
      const down = gen(RANK * m.in, -exponentStep);
      const up = gen(m.out * RANK, exponentStep);
      tensors.push({ name: `${m.name}.lora_down.weight`, dtype: 'F16', shape: [RANK, m.in], data: down });
      tensors.push({ name: `${m.name}.lora_up.weight`, dtype: 'F16', shape: [m.out, RANK], data: up });
      tensors.push({ name: `${m.name}.alpha`, dtype: 'F16', shape: [], data: encode('F16', [RANK / 2]) });
    }
    writeSafetensors(`${file}.partial`, tensors, { style: 'dtype-then-name', metadata: { ss_network_module: 'networks.lora', ss_base_model_version: 'sdxl_base_v1-0' } });
    renameSync(`${file}.partial`, file);
    process.stderr.write(`\rgenerating ${dir}: ${i + 1}/${N}`);
  }
  process.stderr.write('\n');
  writeFileSync(marker, spec);
  return dir;
}

async function main(): Promise<void> {
  const all = sdxlModules(SCALE);
  const modules = KEYS > 0 ? representative(all, KEYS) : all;
  const dir = benchFolder(modules);
  const t0 = performance.now();
  const models: LoraModel[] = [];
  for (let i = 0; i < N; i++) models.push(readLora(await openCheckpoint(join(dir, `lora${String(i).padStart(3, '0')}.safetensors`))));
  const tRead = (performance.now() - t0) / 1000;
  const totals = new PairTotals(N);
  let multiplyAdds = 0;
  let direct = 0;
  let dense = 0;
  let lowRank = 0;
  let keys = 0;
  const t1 = performance.now();
  forEachKeyPairs(
    models,
    (kp) => {
      keys++;
      totals.add(kp, 'all');
      totals.add(kp, kp.component);
      direct += kp.direct;
      if (kp.gram.path === 'dense') dense++;
      else lowRank++;
      // the cheaper of the two Gram forms, for the pairs of this key (see pairwise.ts chooseDense)
      const t = models[0]!.targets.find((x) => x.key === kp.key)!;
      const rows = t.shape[0]!;
      const cols = t.shape[1]!;
      const R = t.contributions.length * RANK;
      const m = kp.members.length;
      multiplyAdds += ((m * (m - 1)) / 2) * Math.min(R * R * (rows + cols), rows * cols);
    },
    {
      onProgress: (p) => {
        const s = (performance.now() - t1) / 1000;
        process.stderr.write(`\r${p.keysDone}/${p.keysTotal} keys, ${s.toFixed(0)} s, ETA ${((s / p.keysDone) * (p.keysTotal - p.keysDone)).toFixed(0)} s   `);
      },
    },
  );
  process.stderr.write('\n');
  const seconds = (performance.now() - t1) / 1000;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  let sameGroups = 0;
  for (let i = 0; i < N; i++) if (i > 0 && totals.sameDelta('all', i - 1, i)) sameGroups++;
  const rate = multiplyAdds / seconds;
  const fullWidth = sdxlModules(1);
  let fullMultiplyAdds = 0;
  const byKey = new Map<string, { rows: number; cols: number; R: number }>();
  for (const m of fullWidth) {
    const te2 = /^lora_te2_text_model_encoder_layers_(\d+)_self_attn_[qkv]_proj$/.exec(m.name);
    const key = te2 ? `te2-in_proj-${te2[1]}` : m.name;
    const e = byKey.get(key);
    if (e) e.R += RANK;
    else byKey.set(key, { rows: te2 ? 3 * m.out : m.out, cols: m.in, R: RANK });
  }
  for (const { rows, cols, R } of byKey.values()) fullMultiplyAdds += ((N * (N - 1)) / 2) * Math.min(R * R * (rows + cols), rows * cols);
  console.log(
    `${N} LoRAs, rank ${RANK}, SDXL targets at 1/${SCALE} width (${keys} keys): read ${tRead.toFixed(1)} s | all pairs ${seconds.toFixed(1)} s, peak RSS ${rssMiB.toFixed(0)} MiB | ` +
      `${(multiplyAdds / 1e9).toFixed(1)} G multiply-adds at ${(rate / 1e9).toFixed(2)} G/s (keys by dense rows: ${dense}, by low-rank factors: ${lowRank}) | ` +
      `${direct} pair-keys recomputed directly, ${sameGroups} re-factored copies found as the same delta (expected ${Math.floor(N / 10)}) | ` +
      `at full width: ${(fullMultiplyAdds / 1e12).toFixed(0)} T multiply-adds, about ${(fullMultiplyAdds / rate / 3600).toFixed(1)} h at this rate`,
  );
}

void main();
