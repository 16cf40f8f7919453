/**
 * An SD 1.5 base (1/32 width) and LoRAs of every kind on eight of its weights (linear, 1x1 and 3x3 convolutions,
 * text encoder), including copies of the same delta in other formats, and a checkpoint merged from the base and two
 * LoRAs at known strengths. Paths and oracle manifests are returned; the oracle builds every delta from the files.
 */
import { join } from 'node:path';
import { base, customRecipe, layout, materialize } from '../../fixtures/synth';
import { factor, get, identity, kohyaLora, kron2, randomFactor, scalar, writeLora, type ModuleSpec } from '../../fixtures/lora';
import { oracleKeyDeltas, type OracleManifest, type OracleTarget } from '../../oracle/lora';

export const T = {
  q: { path: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', key: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight', shape: [10, 10] },
  k2: { path: 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', key: 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight', shape: [20, 24] },
  ff: { path: 'up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj', key: 'model.diffusion_model.output_blocks.3.1.transformer_blocks.0.ff.net.0.proj.weight', shape: [320, 40] },
  projIn: { path: 'down_blocks.0.attentions.0.proj_in', key: 'model.diffusion_model.input_blocks.1.1.proj_in.weight', shape: [10, 10, 1, 1] },
  conv: { path: 'down_blocks.0.resnets.0.conv1', key: 'model.diffusion_model.input_blocks.1.0.in_layers.2.weight', shape: [10, 10, 3, 3] },
  out: { path: 'mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0', key: 'model.diffusion_model.middle_block.1.transformer_blocks.0.attn1.to_out.0.weight', shape: [40, 40] },
  teQ: { path: 'text_model.encoder.layers.0.self_attn.q_proj', key: 'cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', shape: [24, 24], te: true },
  teFc1: { path: 'text_model.encoder.layers.3.mlp.fc1', key: 'cond_stage_model.transformer.text_model.encoder.layers.3.mlp.fc1.weight', shape: [96, 24], te: true },
} as const;
type Slot = (typeof T)[keyof typeof T];

export const kohya = (s: Slot) => ('te' in s ? 'lora_te_' : 'lora_unet_') + s.path.replace(/\./g, '_');
export const peft = (s: Slot) => ('te' in s ? 'text_encoder.' : 'unet.') + s.path;
const target = (s: Slot): OracleTarget => ({ key: s.key, shape: [...s.shape] });

export interface LoraFile {
  path: string;
  manifest: OracleManifest;
}

export interface Sd15Fixture {
  dir: string;
  base: string;
  /** base + 0.8 dW(A) + 0.45 dW(B), stored F32 */
  merged: string;
  strengths: { A: number; B: number };
  A: LoraFile; // kohya LoRA, F16, rank 4, alpha 2, incl. 1x1 and 3x3 convolutions and the text encoder
  Apeft: LoraFile; // the same delta under PEFT names, scale folded into lora_B, no alpha
  Aref: LoraFile; // the same delta re-factored: up x 2, down / 2
  B: LoraFile; // kohya LoRA, BF16, rank 8, alpha 8, with a Tucker LoCon on the 3x3 convolution
  C: LoraFile; // LoHa, F16 (Tucker cores on the convolution; one target dense)
  Clora: LoraFile; // C's delta on `q` as a plain LoRA (Khatri-Rao factors, F32)
  D: LoraFile; // LoKr, F16 (factored and whole sides, a 4-D w2, a Tucker w2)
  Dlora: LoraFile; // D's delta on `ff` as a plain LoRA (kron factors, F32)
  E: LoraFile; // LyCORIS full difference on `q`
}

export function makeSd15Fixture(dir: string): Sd15Fixture {
  const L = layout('sd15', { scale: 32 });
  const baseRecipe = base(L, 1);
  const basePath = join(dir, 'base.safetensors');
  materialize(baseRecipe, basePath);

  const write = (name: string, modules: ModuleSpec[], metadata?: Record<string, string>): LoraFile => {
    const path = join(dir, name);
    return { path, manifest: writeLora(path, modules, metadata) };
  };

  // A: kohya LoRA on every slot
  const aModules = Object.values(T).map((s, i) =>
    kohyaLora({
      name: kohya(s),
      target: target(s),
      out: s.shape[0],
      in: s.shape[1],
      rank: 4,
      ...(s.shape.length === 4 ? { kernel: [s.shape[2], s.shape[3]] as [number, number] } : {}),
      alpha: 2,
      dtype: 'F16',
      seed: 100 + i,
    }),
  );
  const A = write('A_kohya.safetensors', aModules, { ss_network_module: 'networks.lora', ss_base_model_version: 'sd_v1' });
  const peftModules = aModules.map((m) => {
    const s = Object.values(T).find((x) => kohya(x) === m.name)!;
    const up = get(m, '.lora_up.weight');
    const down = get(m, '.lora_down.weight');
    return {
      name: peft(s),
      factors: [factor('.lora_A.weight', down.shape, down.values, 'F16'), factor('.lora_B.weight', up.shape, up.values.map((x) => x * 0.5), 'F16')],
      targets: m.targets,
    };
  });
  const Apeft = write('A_peft.safetensors', peftModules);
  const refModules = aModules.map((m) => ({
    name: m.name,
    factors: m.factors.map((f) =>
      f.suffix === '.lora_up.weight' ? factor(f.suffix, f.shape, f.values.map((x) => x * 2), f.dtype) : f.suffix === '.lora_down.weight' ? factor(f.suffix, f.shape, f.values.map((x) => x / 2), f.dtype) : f,
    ),
    targets: m.targets,
  }));
  const Aref = write('A_refactored.safetensors', refModules);

  // B: another kohya LoRA, with a Tucker LoCon on the 3x3 convolution
  const bSlots = [T.q, T.k2, T.ff, T.teQ];
  const bModules = bSlots.map((s, i) => kohyaLora({ name: kohya(s), target: target(s), out: s.shape[0], in: s.shape[1], rank: 8, alpha: 8, dtype: 'BF16', seed: 200 + i }));
  bModules.push(kohyaLora({ name: kohya(T.conv), target: target(T.conv), out: 10, in: 10, rank: 4, kernel: [3, 3], tucker: true, alpha: 2, dtype: 'BF16', seed: 210 }));
  const B = write('B_kohya.safetensors', bModules);

  // C: LoHa
  const hada = (name: string, t: OracleTarget, out: number, inn: number, r1: number, r2: number, alpha: number, seed: number): ModuleSpec => ({
    name,
    factors: [
      factor('.hada_w1_a', [out, r1], randomFactor(seed, `${name}.w1a`, [out, r1], 'F16'), 'F16'),
      factor('.hada_w1_b', [r1, inn], randomFactor(seed, `${name}.w1b`, [r1, inn], 'F16'), 'F16'),
      factor('.hada_w2_a', [out, r2], randomFactor(seed, `${name}.w2a`, [out, r2], 'F16'), 'F16'),
      factor('.hada_w2_b', [r2, inn], randomFactor(seed, `${name}.w2b`, [r2, inn], 'F16'), 'F16'),
      scalar('.alpha', alpha, 'F16'),
    ],
    targets: [t],
  });
  const cQ = hada(kohya(T.q), target(T.q), 10, 10, 2, 3, 2, 300);
  const cModules: ModuleSpec[] = [cQ, hada(kohya(T.ff), target(T.ff), 320, 40, 4, 4, 4, 301), hada(kohya(T.k2), target(T.k2), 20, 24, 4, 4, 4, 302)];
  const tName = kohya(T.conv);
  cModules.push({
    name: tName,
    factors: [
      factor('.hada_t1', [2, 2, 3, 3], randomFactor(303, 't1', [2, 2, 3, 3], 'F16'), 'F16'),
      factor('.hada_w1_a', [2, 10], randomFactor(303, 'w1a', [2, 10], 'F16'), 'F16'),
      factor('.hada_w1_b', [2, 10], randomFactor(303, 'w1b', [2, 10], 'F16'), 'F16'),
      factor('.hada_t2', [2, 2, 3, 3], randomFactor(303, 't2', [2, 2, 3, 3], 'F16'), 'F16'),
      factor('.hada_w2_a', [2, 10], randomFactor(303, 'w2a', [2, 10], 'F16'), 'F16'),
      factor('.hada_w2_b', [2, 10], randomFactor(303, 'w2b', [2, 10], 'F16'), 'F16'),
      scalar('.alpha', 1, 'F16'),
    ],
    targets: [target(T.conv)],
  });
  const C = write('C_loha.safetensors', cModules, { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "loha"}' });
  // C on q as a LoRA: up[o, p r2 + q] = w1a[o, p] w2a[o, q], down[p r2 + q, c] = w1b[p, c] w2b[q, c] (scale alpha / r1 = 1)
  const Clora = (() => {
    const [w1a, w1b, w2a, w2b] = ['.hada_w1_a', '.hada_w1_b', '.hada_w2_a', '.hada_w2_b'].map((s) => get(cQ, s).values) as [Float64Array, Float64Array, Float64Array, Float64Array];
    const up = new Float64Array(10 * 6);
    const down = new Float64Array(6 * 10);
    for (let p = 0; p < 2; p++) for (let q = 0; q < 3; q++) {
      for (let o = 0; o < 10; o++) up[o * 6 + p * 3 + q] = w1a[o * 2 + p]! * w2a[o * 3 + q]!;
      for (let c = 0; c < 10; c++) down[(p * 3 + q) * 10 + c] = w1b[p * 10 + c]! * w2b[q * 10 + c]!;
    }
    return write('C_as_lora.safetensors', [{ name: kohya(T.q), factors: [factor('.lora_up.weight', [10, 6], up, 'F32'), factor('.lora_down.weight', [6, 10], down, 'F32')], targets: [target(T.q)] }]);
  })();

  // D: LoKr
  const dFf: ModuleSpec = {
    name: kohya(T.ff),
    factors: [
      factor('.lokr_w1', [4, 2], randomFactor(400, 'w1', [4, 2], 'F16', 1), 'F16'),
      factor('.lokr_w2_a', [80, 2], randomFactor(400, 'w2a', [80, 2], 'F16'), 'F16'),
      factor('.lokr_w2_b', [2, 20], randomFactor(400, 'w2b', [2, 20], 'F16'), 'F16'),
      scalar('.alpha', 2, 'F16'),
    ],
    targets: [target(T.ff)],
  };
  const dModules: ModuleSpec[] = [
    dFf,
    {
      name: kohya(T.q),
      factors: [
        factor('.lokr_w1_a', [2, 1], randomFactor(401, 'w1a', [2, 1], 'F16', 1), 'F16'),
        factor('.lokr_w1_b', [1, 2], randomFactor(401, 'w1b', [1, 2], 'F16', 1), 'F16'),
        factor('.lokr_w2', [5, 5], randomFactor(401, 'w2', [5, 5], 'F16'), 'F16'),
        scalar('.alpha', 1, 'F16'),
      ],
      targets: [target(T.q)],
    },
    {
      name: kohya(T.conv),
      factors: [factor('.lokr_w1', [2, 2], randomFactor(402, 'w1', [2, 2], 'F16', 1), 'F16'), factor('.lokr_w2', [5, 5, 3, 3], randomFactor(402, 'w2', [5, 5, 3, 3], 'F16'), 'F16')],
      targets: [target(T.conv)],
    },
    {
      name: kohya(T.projIn),
      factors: [
        factor('.lokr_w1', [2, 5], randomFactor(403, 'w1', [2, 5], 'F16', 1), 'F16'),
        factor('.lokr_t2', [2, 2, 1, 1], randomFactor(403, 't2', [2, 2, 1, 1], 'F16', 1), 'F16'),
        factor('.lokr_w2_a', [2, 5], randomFactor(403, 'w2a', [2, 5], 'F16'), 'F16'),
        factor('.lokr_w2_b', [2, 2], randomFactor(403, 'w2b', [2, 2], 'F16'), 'F16'),
        scalar('.alpha', 2, 'F16'),
      ],
      targets: [target(T.projIn)],
    },
  ];
  const D = write('D_lokr.safetensors', dModules, { ss_network_module: 'lycoris.kohya' });
  // D on ff as a LoRA: kron(w1, w2a w2b) = kron(w1, w2a) kron(I_2, w2b) (scale alpha / dim = 2 / 2 = 1)
  const Dlora = (() => {
    const w1 = get(dFf, '.lokr_w1').values;
    const w2a = get(dFf, '.lokr_w2_a').values;
    const w2b = get(dFf, '.lokr_w2_b').values;
    const up = kron2(w1, 4, 2, w2a, 80, 2);
    const down = kron2(identity(2), 2, 2, w2b, 2, 20);
    return write('D_as_lora.safetensors', [{ name: kohya(T.ff), factors: [factor('.lora_up.weight', [320, 4], up, 'F32'), factor('.lora_down.weight', [4, 40], down, 'F32')], targets: [target(T.ff)] }]);
  })();

  // E: full difference
  const E = write('E_full.safetensors', [{ name: kohya(T.q), factors: [factor('.diff', [10, 10], randomFactor(500, 'diff', [10, 10], 'F32', 0.01), 'F32')], targets: [target(T.q)] }]);

  // The merged checkpoint: base + 0.8 dW(A) + 0.45 dW(B), in F32.
  const strengths = { A: 0.8, B: 0.45 };
  const dA = oracleKeyDeltas(A.path, A.manifest);
  const dB = oracleKeyDeltas(B.path, B.manifest);
  const merged = join(dir, 'merged.safetensors');
  materialize(
    customRecipe('merged', baseRecipe.specs, (name) => {
      const v = baseRecipe.values(name);
      for (const [d, s] of [[dA, strengths.A], [dB, strengths.B]] as const) {
        const x = d.get(name);
        if (x) for (let i = 0; i < v.length; i++) v[i] += s * x.v[i]!;
      }
      return v;
    }),
    merged,
  );
  return { dir, base: basePath, merged, strengths, A, Apeft, Aref, B, C, Clora, D, Dlora, E };
}
