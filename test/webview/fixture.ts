/**
 * A synthetic CompareResult for the webview tests: 5 models (file names holding <script> and <img onerror>), some
 * identical components, one not comparable component, a failed file, and per-layer rows for every pair (3,200 keys).
 * Deterministic; no DOM, no files.
 */
import type { CompareResult, ComponentDiff, ComponentStatus, ModelInfo, PairResult } from '../../src/shared/result';
import { pairIndex } from '../../src/shared/result';
import type { InspectTensor, LayerRowMessage } from '../../src/shared/protocol';

export const HOSTILE_SCRIPT = '<script>window.__pwned="script"</script>';
export const HOSTILE_IMG = '<img src=x onerror="window.__pwned=\'img\'">';

export const MODEL_FILES = [
  `base ${HOSTILE_SCRIPT}.safetensors`,
  `merge ${HOSTILE_IMG}.safetensors`,
  'finetune-a.safetensors',
  'copy-of-base.safetensors',
  'sd2-te-swap.ckpt',
];

export const COMPONENTS = ['unet', 'te', 'vae', 'other'] as const;

/** Keys per component (total 3,200). */
const KEY_COUNTS: Record<(typeof COMPONENTS)[number], number> = { unet: 2400, te: 480, vae: 300, other: 20 };
const PREFIX: Record<(typeof COMPONENTS)[number], string> = {
  unet: 'model.diffusion_model.',
  te: 'cond_stage_model.transformer.text_model.',
  vae: 'first_stage_model.',
  other: '',
};
const PARTS = ['attn1.to_q', 'attn1.to_k', 'attn2.to_v', 'ff.net.0.proj', 'norm1', 'proj_in', 'emb_layers.1'];

export const HOSTILE_KEY = `model.diffusion_model.${HOSTILE_IMG}.weight`;

export function layerKeys(): { key: string; component: string }[] {
  const out: { key: string; component: string }[] = [];
  for (const c of COMPONENTS) {
    for (let i = 0; i < KEY_COUNTS[c]; i++) {
      const key = c === 'other' ? `alphas_cumprod_${i}` : `${PREFIX[c]}blocks.${Math.floor(i / PARTS.length)}.${PARTS[i % PARTS.length]}.${i % 2 ? 'bias' : 'weight'}`;
      out.push({ key, component: c });
    }
  }
  out[5] = { key: HOSTILE_KEY, component: 'unet' };
  return out;
}

/**
 * Which "source" each model's component comes from: equal sources mean identical components.
 * Model 3 is a copy of model 0; model 2 shares te and vae with model 0; model 4's te has other shapes (not comparable).
 */
const SOURCE: Record<(typeof COMPONENTS)[number], number[]> = {
  unet: [0, 1, 2, 0, 4],
  te: [0, 1, 0, 0, 4],
  vae: [0, 1, 0, 0, 1],
  other: [0, 0, 0, 0, 0],
};

/** Deterministic pseudo-random in [0, 1). */
function rand(seed: number): number {
  let x = (seed * 2654435761) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x45d9f3b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

/** Per-layer value of a component source. */
function layerValue(source: number, keyIndex: number): number {
  return rand(source * 100_003 + keyIndex * 7 + 1) * (1 + (source % 3));
}

export function layerRows(a: number, b: number): LayerRowMessage[] {
  const keys = layerKeys();
  return keys.map((k, i) => {
    const comp = k.component as (typeof COMPONENTS)[number];
    const sa = SOURCE[comp][a]!;
    const sb = SOURCE[comp][b]!;
    if (comp === 'te' && (a === 4) !== (b === 4)) return { key: k.key, component: k.component, l2: null, cosine: null };
    if (sa === sb) return { key: k.key, component: k.component, l2: 0, cosine: 1 };
    const l2 = Math.abs(layerValue(sa, i) - layerValue(sb, i)) + 1e-4 * ((i % 13) + 1);
    return { key: k.key, component: k.component, l2, cosine: 1 - l2 / 50 };
  });
}

function diffFor(a: number, b: number, comp: (typeof COMPONENTS)[number]): ComponentDiff {
  const n = KEY_COUNTS[comp];
  const base = { shared: n, only_a: 0, only_b: 0, mismatched: 0, dtype_diff: 0, changed: 0, non_finite: 0, bytes_only: 0 };
  if (comp === 'te' && (a === 4) !== (b === 4)) {
    return { ...base, status: 'not_comparable', l2: null, cosine: null, identical: false, equal_values: false, shared: 0, mismatched: n };
  }
  const sa = SOURCE[comp][a]!;
  const sb = SOURCE[comp][b]!;
  if (sa === sb) return { ...base, status: 'identical', l2: 0, cosine: 1, identical: true, equal_values: true };
  const rows = layerRows(a, b).filter((r) => r.component === comp);
  const l2 = Math.sqrt(rows.reduce((s, r) => s + (r.l2 ?? 0) ** 2, 0));
  const status: ComponentStatus = 'changed';
  return { ...base, status, l2, cosine: 1 - l2 / 1e4, identical: false, equal_values: false, changed: n };
}

function model(i: number, file: string): ModelInfo {
  const comps: ModelInfo['components'] = {};
  for (const c of COMPONENTS) comps[c] = { tensors: KEY_COUNTS[c], params: KEY_COUNTS[c] * 1000, bytes: KEY_COUNTS[c] * 2000, dtypes: { F16: KEY_COUNTS[c] } };
  return {
    index: i,
    file,
    path: `/models/${file}`,
    format: file.endsWith('.ckpt') ? 'pytorch-zip' : 'safetensors',
    arch: 'sd1',
    archDetail: 'SD 1.x',
    sizeBytes: 2_132_000_000 + i,
    tensorCount: 3200,
    paramCount: 3_200_000,
    components: comps,
    metadata: { title: `model ${i} ${HOSTILE_SCRIPT}` },
    notes: i === 4 ? ['text encoder is OpenCLIP (SD 2.x)'] : [],
    tensorHealth:
      i === 2
        ? { nonFinite: [`model.diffusion_model.${HOSTILE_IMG}.bias`], allZero: ['first_stage_model.quant_conv.bias'], nonFiniteCount: 1, allZeroCount: 1 }
        : { nonFinite: [], allZero: [], nonFiniteCount: 0, allZeroCount: 0 },
  };
}

export function makeResult(): CompareResult {
  const models = MODEL_FILES.map((f, i) => model(i, f));
  const n = models.length;
  const pairs: PairResult[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const components: PairResult['components'] = {};
      for (const c of COMPONENTS) components[c] = diffFor(a, b, c);
      const teNa = (a === 4) !== (b === 4);
      pairs[pairIndex(a, b, n)] = {
        a,
        b,
        components,
        differences: {
          only_a: a === 1 ? [`model_ema.${HOSTILE_SCRIPT}`] : [],
          only_b: [],
          mismatched: teNa ? [{ key: 'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight', a: '[49408,768]', b: '[49408,1024]' }] : [],
          dtype: [],
          truncated: false,
        },
      };
    }
  }
  const keys = layerKeys();
  return {
    schemaVersion: 1,
    tool: { name: 'modeldiff', version: '0.1.0' },
    createdAt: '2026-11-25T00:00:00.000Z',
    options: { metric: 'l2', components: null, includeEma: false, workers: 2, memoryBudgetMiB: 1024 },
    models,
    errors: [
      {
        code: 'ST_HEADER_TOO_LARGE',
        message: `header of broken"><svg onload=alert(1)>.safetensors is larger than 100 MB`,
        file: 'broken"><svg onload=alert(1)>.safetensors',
        path: '/models/broken"><svg onload=alert(1)>.safetensors',
      },
    ],
    components: [...COMPONENTS],
    pairs,
    layers: { file: 'layers.bin', keys: keys.map((k) => k.key), keyComponents: keys.map((k) => k.component), pairs: pairs.length, planes: ['l2', 'cosine'] },
    stats: { seconds: 12.5, bytesRead: 10_660_000_000, bytesTotal: 10_660_000_000, tensorsCompared: 32000, identicalGroups: 3, guardRecomputes: 0, kernels: 'reference' },
  };
}

/** A model header for the inspect view: 2,600 tensors, hostile metadata and names. */
export function makeInspect(): { info: ModelInfo; tensors: InspectTensor[] } {
  const info = model(0, `inspect ${HOSTILE_IMG}.safetensors`);
  info.metadata = {
    'modelspec.title': HOSTILE_SCRIPT,
    ss_tag_frequency: JSON.stringify({ '<b>bold</b>': { [HOSTILE_IMG]: 3 } }),
    [`<i onmouseover=alert(1)>key</i>`]: 'value with </pre><script>window.__pwned="meta"</script>',
    format: 'pt',
  };
  info.notes = [`note ${HOSTILE_SCRIPT}`];
  const tensors: InspectTensor[] = [];
  for (let i = 0; i < 2600; i++) {
    const comp = i < 2000 ? 'unet' : i < 2400 ? 'te' : 'vae';
    const name = i === 7 ? `model.diffusion_model.${HOSTILE_SCRIPT}.weight` : `${comp === 'unet' ? 'model.diffusion_model' : comp === 'te' ? 'cond_stage_model' : 'first_stage_model'}.block${i}.${PARTS[i % PARTS.length]}.weight`;
    tensors.push({ key: name, name, component: comp, dtype: i % 10 === 0 ? 'F32' : 'F16', shape: [320, (i % 4) + 1, 3, 3], bytes: 320 * ((i % 4) + 1) * 9 * (i % 10 === 0 ? 4 : 2) });
  }
  return { info, tensors };
}
