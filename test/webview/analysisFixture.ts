/**
 * A synthetic AnalysisFile for the 5 models of fixture.ts: breakdowns of every scheme (BASE is n/a for the pairs of
 * model 1, the text encoder n/a for the pairs of model 4, everything 0 for the copy pair 0-3), a recipe per model,
 * lineage with a declared A1111 recipe on model 1, health with corrupt position_ids in model 4, hashes (or null) with
 * a VAE and a text encoder shared across files, and family trees per component. Deterministic; no DOM, no files.
 */
import type {
  AnalysisFile,
  BreakdownMatrix,
  DeclaredLineage,
  DeclaredParent,
  Dendrogram,
  FamilyView,
  MixtureFit,
  ModelHashes,
  ModelHealth,
  ModelLineage,
  RecipeEstimate,
  SchemeName,
  SharedComponent,
  SpanningTree,
} from '../../src/shared/analysis';
import { HOSTILE_IMG, HOSTILE_SCRIPT, makeResult, MODEL_FILES } from './fixture';

const N = MODEL_FILES.length;
/** result.pairs order */
export const PAIRS: { a: number; b: number }[] = [];
for (let a = 0; a < N; a++) for (let b = a + 1; b < N; b++) PAIRS.push({ a, b });

/** Same source = identical component (as in fixture.ts). */
const UNET_SOURCE = [0, 1, 2, 0, 4];
const TE_SOURCE = [0, 1, 0, 0, 4];
const VAE_SOURCE = [0, 1, 0, 0, 1];

export const BLOCK_GROUPS = ['BASE', ...Array.from({ length: 12 }, (_, i) => `IN${String(i).padStart(2, '0')}`), 'M00', ...Array.from({ length: 12 }, (_, i) => `OUT${String(i).padStart(2, '0')}`)];
const TYPE_GROUPS = ['attn1', 'attn2', 'ff', 'norm', 'proj', 'emb_layers', 'others'];
const VAE_GROUPS = ['encoder', 'decoder', 'quant_conv', 'post_quant_conv'];
const TE_GROUPS = ['te.embeddings', ...Array.from({ length: 12 }, (_, i) => `te.layer${String(i).padStart(2, '0')}`), 'te.final_norm'];

/** A value with many digits, so the tests check exact rounding. */
function value(scheme: number, g: number, p: number): number {
  return Math.round((0.5 + ((g * 7 + p * 13 + scheme * 5) % 23) * 0.37 + g * 0.013) * 1e6) / 1e6;
}

function matrix(scheme: SchemeName, si: number, groups: string[], source: number[], isNa: (g: string, pair: { a: number; b: number }) => boolean, keysPerGroup: number): BreakdownMatrix {
  const l2 = groups.map((g, gi) =>
    PAIRS.map((pr, p) => (isNa(g, pr) ? null : source[pr.a] === source[pr.b] ? 0 : value(si, gi, p))),
  );
  const changedKeys = groups.map((_, gi) => PAIRS.map((pr, p) => (l2[gi]![p] === null || l2[gi]![p] === 0 || source[pr.a] === source[pr.b] ? 0 : keysPerGroup - ((gi + p) % 5))));
  const keys = groups.map((_g, gi) => PAIRS.map((_, p) => (l2[gi]![p] === null ? 0 : keysPerGroup)));
  return {
    scheme,
    description:
      scheme === 'block'
        ? 'UNet merge blocks, SD 1.x/2.x (BASE, IN00-IN11, M00, OUT00-OUT11); time_embed/label_emb in BASE (sd-mecha convention); out.* in OUT11'
        : scheme === 'type'
          ? 'UNet layer types: attn1 (self-attention), attn2 (cross-attention), ff, norm, proj (proj_in/proj_out), emb_layers (incl. time_embed/label_emb), others'
          : scheme === 'vae'
            ? 'VAE parts: encoder, decoder, quant_conv, post_quant_conv'
            : 'text-encoder parts per encoder: embeddings, transformer layers, final norm, projection',
    timeEmbed: 'BASE',
    groups,
    pairs: PAIRS,
    layouts: PAIRS.map(() => 'sd'),
    l2,
    changedKeys,
    keys,
  };
}

function fit(group: string, weights: number[], relResidual: number, identifiable = true, keys = 96): MixtureFit {
  return {
    group,
    keys,
    weights,
    free: identifiable ? weights.map((w, i) => (i === 0 ? w - 0.01 : w + 0.01 / (weights.length - 1))) : null,
    residual: relResidual * 12.5,
    relResidual,
    freeResidual: identifiable ? relResidual * 12 : null,
    distances: weights.map((w) => 20 * (1 - w) + 1),
    identifiable,
  };
}

function blockWeight(gi: number): number {
  return Math.round((0.15 + ((gi * 11) % 17) * 0.041) * 1e5) / 1e5;
}

export function recipe(model: number, parents: number[], from: RecipeEstimate['parentsFrom']): RecipeEstimate {
  const k = parents.length;
  const weights = (w: number): number[] => (k === 2 ? [1 - w, w] : [1 - w, ...Array.from({ length: k - 1 }, () => w / (k - 1))]);
  return {
    model,
    file: MODEL_FILES[model]!,
    parents: parents.map((p) => ({ model: p, file: MODEL_FILES[p]! })),
    parentsFrom: from,
    description: 'UNet merge blocks, SD 1.x/2.x (BASE, IN00-IN11, M00, OUT00-OUT11); time_embed/label_emb in BASE (sd-mecha convention); out.* in OUT11',
    timeEmbed: 'BASE',
    layout: 'sd',
    overall: fit('UNET', weights(0.3), 0.0012, true, 2400),
    blocks: BLOCK_GROUPS.map((g, gi) => fit(g, weights(blockWeight(gi)), gi === 5 ? 0.4213 : 0.0011 + gi * 0.0003, gi !== 3)),
    components: [fit('TE', weights(0.25), 0.0021, true, 480), fit('VAE', weights(0.5), 0.9, false, 300)],
    ...(from === 'nearest' ? { candidates: [{ parents, relResidual: 0.0012, weights: weights(0.3) }] } : {}),
    notes: model === 1 ? ['block IN03: the parents are equal there, so the weights there are not determined'] : [],
  };
}

export const HOSTILE_PARENT = `<b>evil</b> parent ${HOSTILE_SCRIPT}.safetensors`;

function parent(role: string, name: string | null, match: number | null, by: 'sha256' | 'name' = 'sha256'): DeclaredParent {
  return { role, name, sha256: match === null ? null : sha(match), shortHash: null, legacyHash: null, recipe: null, match: match === null ? null : { model: match, file: MODEL_FILES[match]!, by } };
}

function declared(model: number): DeclaredLineage {
  const empty: DeclaredLineage = { title: null, architecture: null, author: null, recipe: null, mergedFrom: [], trainedFrom: null, ancestors: [], selfHashes: [], keys: [], notes: [] };
  if (model === 1) {
    return {
      ...empty,
      title: `model 1 ${HOSTILE_SCRIPT}`,
      recipe: { tool: 'webui', method: 'Weighted sum', alpha: 0.3, beta: null, blockWeights: null, parents: [parent('A', MODEL_FILES[0]!, 0), parent('B', 'finetune-a', 2, 'name')], impliedWeights: [0.7, 0.3] },
      keys: ['sd_merge_recipe', 'sd_merge_models'],
    };
  }
  if (model === 4) return { ...empty, trainedFrom: parent('training base', HOSTILE_PARENT, null), keys: ['ss_sd_model_name'] };
  return empty;
}

function lineageOf(model: number): ModelLineage {
  const d = declared(model);
  const parents = d.recipe ? d.recipe.parents : d.trainedFrom ? [d.trainedFrom] : [];
  const nearest = NEAREST[model]!;
  return {
    model,
    file: MODEL_FILES[model]!,
    declared: d,
    parents,
    nearest: nearest.map(([m, l2]) => ({ model: m, file: MODEL_FILES[m]!, l2 })),
    sameUnet: model === 0 ? [3] : model === 3 ? [0] : [],
    equalUnet: [],
    confirmed: model === 1 ? [0, 2] : [],
    unconfirmed: [],
    estimate: model === 1 ? fit('unet', [0.7012, 0.2988], 0.0015, true, 2400) : null,
    estimateParents: model === 1 ? [0, 2] : [],
  };
}

const NEAREST: Record<number, [number, number][]> = {
  0: [[2, 4.123456], [1, 6.9]],
  1: [[0, 6.9], [2, 7.25]],
  2: [[0, 4.123456], [1, 7.25]],
  3: [[2, 4.123456], [1, 6.9]],
  4: [[2, 11.8], [0, 12.05]],
};

function health(model: number): ModelHealth {
  const base: ModelHealth = {
    model,
    file: MODEL_FILES[model]!,
    arch: 'sd1',
    positionIds: [],
    nonFinite: { keys: [], count: 0 },
    allZero: { keys: [], count: 0, benign: [] },
    missingComponents: [],
    unexpectedKeys: { keys: [], count: 0 },
    wasted: null,
    findings: [],
    status: 'ok',
  };
  if (model === 4) {
    return {
      ...base,
      positionIds: [
        {
          key: 'cond_stage_model.transformer.text_model.embeddings.position_ids',
          dtype: 'F32',
          shape: [1, 77],
          status: 'corrupt',
          maxDeviation: 0.0001220703125,
          badCount: 12,
          bad: [{ index: 76, value: 75.9999 }],
          fixableByRounding: true,
        },
      ],
      findings: [
        { severity: 'error', message: 'position_ids corrupt: 12 of 77 values are not their index (max deviation 0.000122); fixable by rounding' },
        { severity: 'info', message: 'stored as F32: an fp16 copy would save 2.0 GiB' },
      ],
      status: 'error',
    };
  }
  if (model === 2) {
    return {
      ...base,
      nonFinite: { keys: [`model.diffusion_model.${HOSTILE_IMG}.bias`], count: 1 },
      findings: [{ severity: 'warning', message: `1 tensor with NaN/Inf: model.diffusion_model.${HOSTILE_IMG}.bias` }],
      status: 'warning',
    };
  }
  return base;
}

/** A deterministic 64-hex "SHA-256" per model. */
export function sha(model: number): string {
  let s = '';
  for (let i = 0; s.length < 64; i++) s += ((model * 2654435761 + i * 40503) >>> 0).toString(16).padStart(8, '0');
  return s.slice(0, 64);
}

function compHash(source: number, comp: string): string {
  return (comp === 'vae' ? 'a' : comp === 'te' ? 'b' : 'c') + sha(source + 10).slice(1);
}

export function hashes(): ModelHashes[] {
  return MODEL_FILES.map((file, i) => {
    const full = sha(i);
    const st = file.endsWith('.safetensors');
    const v3 = st ? sha(i + 20) : null;
    return {
      file,
      path: `/models/${file}`,
      hashes: {
        path: `/models/${file}`,
        size: 2_132_000_000 + i,
        mtimeMs: 1_700_000_000_000,
        sha256: full,
        autov2: full.slice(0, 10).toUpperCase(),
        legacy: full.slice(20, 28),
        legacyUnreliable: false,
        autov3: v3,
        autov3Short: v3 ? v3.slice(0, 12).toUpperCase() : null,
      },
      components: {
        unet: { sha256: compHash(UNET_SOURCE[i]!, 'unet'), tensors: 2400, bytes: 4_800_000 },
        te: { sha256: compHash(TE_SOURCE[i]!, 'te'), tensors: 480, bytes: 960_000 },
        vae: { sha256: compHash(VAE_SOURCE[i]!, 'vae'), tensors: 300, bytes: 600_000 },
      },
    };
  });
}

export function shared(): SharedComponent[] {
  return [
    { sha256: compHash(0, 'vae'), members: [0, 2, 3].map((i) => ({ file: MODEL_FILES[i]!, component: 'vae' })), tensors: 300, bytes: 600_000 },
    { sha256: compHash(1, 'vae'), members: [1, 4].map((i) => ({ file: MODEL_FILES[i]!, component: 'vae' })), tensors: 300, bytes: 600_000 },
  ];
}

function leaf(model: number): Dendrogram['nodes'][number] {
  return { id: model, model, file: MODEL_FILES[model]!, height: 0, size: 1 };
}

export const UNET_MERGES: [number, number, number][] = [
  [0, 3, 0],
  [5, 2, 4.123456],
  [6, 1, 7.5],
  [7, 4, 12.1],
];

function family(component: string, merges: [number, number, number][], roots: number[], edges: { parent: number; child: number; l2: number }[], mstRoots: number[]): FamilyView {
  const nodes: Dendrogram['nodes'] = MODEL_FILES.map((_, i) => leaf(i));
  for (const [c1, c2, h] of merges) {
    const size = nodes[c1]!.size + nodes[c2]!.size;
    nodes.push({ id: nodes.length, children: [c1, c2], height: h, size, linkedPairs: nodes[c1]!.size * nodes[c2]!.size });
  }
  const mst: SpanningTree = { component, edges: edges.map((e) => ({ a: Math.min(e.parent, e.child), b: Math.max(e.parent, e.child), l2: e.l2 })), directed: edges, roots: mstRoots, absent: [] };
  return { component, dendrogram: { component, nodes, roots, absent: [] }, mst };
}

export const UNET_MST = [
  { parent: 0, child: 3, l2: 0 },
  { parent: 0, child: 2, l2: 4.123456 },
  { parent: 0, child: 1, l2: 6.9 },
  { parent: 2, child: 4, l2: 11.8 },
];

export function makeAnalysis(opts: { withHashes?: boolean } = {}): AnalysisFile {
  const result = makeResult();
  const withHashes = opts.withHashes ?? true;
  const breakdowns: AnalysisFile['breakdowns'] = {
    block: matrix('block', 0, BLOCK_GROUPS, UNET_SOURCE, (g, p) => g === 'BASE' && (p.a === 1 || p.b === 1), 96),
    type: matrix('type', 1, TYPE_GROUPS, UNET_SOURCE, () => false, 340),
    vae: matrix('vae', 2, VAE_GROUPS, VAE_SOURCE, () => false, 75),
    te: matrix('te', 3, TE_GROUPS, TE_SOURCE, (_g, p) => (p.a === 4) !== (p.b === 4), 34),
  };
  return {
    schemaVersion: 1,
    tool: { name: 'modeldiff', version: '0.1.0' },
    createdAt: '2026-11-25T00:01:00.000Z',
    resultCreatedAt: result.createdAt,
    timeEmbed: 'BASE',
    breakdowns,
    recipes: [recipe(0, [3, 2], 'nearest'), recipe(1, [0, 2], 'nearest'), recipe(2, [0, 1], 'nearest'), recipe(3, [0, 2], 'nearest'), recipe(4, [2, 0], 'nearest')],
    family: [
      family('unet', UNET_MERGES, [8], UNET_MST, [0]),
      family('te', [[0, 2, 0], [5, 3, 0], [6, 1, 3.3]], [7, 4], [{ parent: 0, child: 2, l2: 0 }, { parent: 0, child: 3, l2: 0 }, { parent: 0, child: 1, l2: 3.3 }], [0, 4]),
      family('vae', [[0, 2, 0], [5, 3, 0], [1, 4, 0], [6, 7, 2.2]], [8], [{ parent: 0, child: 2, l2: 0 }, { parent: 0, child: 3, l2: 0 }, { parent: 0, child: 1, l2: 2.2 }, { parent: 1, child: 4, l2: 0 }], [0]),
    ],
    lineage: {
      models: MODEL_FILES.map((_, i) => lineageOf(i)),
      declaredEdges: [
        { parent: 0, child: 1, role: 'A' },
        { parent: 2, child: 1, role: 'B' },
      ],
      hashesUsed: withHashes,
    },
    health: MODEL_FILES.map((_, i) => health(i)),
    hashes: withHashes ? hashes() : null,
    shared: withHashes ? shared() : null,
    notes: withHashes ? [`layers.bin read for ${N * (N - 1) / 2} pairs`] : ['file hashes not computed (they read every byte of every file): ask for them to match declared parents by hash'],
  };
}
