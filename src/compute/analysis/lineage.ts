/**
 * Declared lineage, read from the metadata merge and training tools write, set beside the measured distances.
 *
 * Metadata read (safetensors `__metadata__` values are strings; JSON inside them is parsed, nested or not):
 * - `sd_merge_recipe`: AUTOMATIC1111's checkpoint merger (`type: "webui"`, primary/secondary/tertiary_model_hash =
 *   full SHA-256, interp_method, multiplier), SuperMerger (model_a/b/c = SHA-256, mode, base_alpha/base_beta,
 *   weights_alpha/weights_beta per block), Chattiori's merger (primary..., merge_method, alpha, beta) and anything
 *   with `*_model_hash` / `model_[abc]` fields.
 * - `sd_merge_models`: SHA-256 -> {name, legacy_hash, sd_merge_recipe}: names the parents and, flattened by A1111,
 *   every ancestor with its own recipe.
 * - `modelspec.*`: title, architecture, author, merged_from (comma-separated names), hash_sha256.
 * - kohya trainers: ss_sd_model_name / ss_sd_model_hash (legacy) / ss_new_sd_model_hash (SHA-256) = the training
 *   base; sshs_model_hash / sshs_legacy_hash = the file's own hashes (checked against the computed ones).
 * Declared models are matched to the folder's models by hash (SHA-256, AutoV2/shorthash, legacy, AutoV3) when file
 * hashes are given, else (or failing that) by file name without extension and directory.
 */
import { pairIndex, type CompareResult } from '../../shared/result';
import { matchHash } from './hashes';
import { componentD2, fitMixture } from './recipe';
import type { DeclaredLineage, DeclaredParent, DeclaredRecipe, FileHashes, LineageReport, ModelLineage, ModelMatch } from '../../shared/analysis';

const MAX_DEPTH = 8;

/** A JSON object from a metadata value that may be an object already or JSON text (possibly JSON in JSON). */
function asObject(v: unknown, depth = 0): Record<string, unknown> | null {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  if (typeof v === 'string' && depth < 3) {
    const t = v.trim();
    if (!t.startsWith('{') && !t.startsWith('"')) return null;
    try {
      return asObject(JSON.parse(t), depth + 1);
    } catch {
      return null;
    }
  }
  return null;
}

function asNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function asString(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null;
}

/** "sub/dir/name.safetensors [abcdef1234]" -> {name: "name.safetensors", hash: "abcdef1234"} */
export function splitNameAndHash(s: string): { name: string; hash: string | null } {
  const m = /^(.*?)\s*\[([0-9a-fA-F]{8,64})\]\s*$/.exec(s);
  const name = (m ? m[1]! : s).trim();
  return { name, hash: m ? m[2]!.toLowerCase() : null };
}

/** Name as compared: without directories, extension and case. */
export function normalizeModelName(s: string): string {
  const base = s.split(/[\\/]/).pop() ?? s;
  return base.replace(/\.(safetensors|ckpt|pt|pth|bin)$/i, '').trim().toLowerCase();
}

function hashFields(h: string | null): Pick<DeclaredParent, 'sha256' | 'shortHash' | 'legacyHash'> {
  const out = { sha256: null as string | null, shortHash: null as string | null, legacyHash: null as string | null };
  if (!h) return out;
  const s = h.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]+$/.test(s)) return out;
  if (s.length === 64) out.sha256 = s;
  else if (s.length === 10 || s.length === 12) out.shortHash = s;
  else if (s.length === 8) out.legacyHash = s;
  return out;
}

function parentFrom(role: string, ref: string, models: Record<string, unknown> | null, depth: number, seen: Set<string>): DeclaredParent {
  const hexish = /^(0x)?[0-9a-fA-F]{8,64}$/.test(ref.trim());
  const split = hexish ? { name: null as string | null, hash: ref } : splitNameAndHash(ref);
  const p: DeclaredParent = { role, name: split.name, ...hashFields(split.hash), recipe: null, match: null };
  const entry = p.sha256 && models ? asObject(models[p.sha256] ?? models[p.sha256.toUpperCase()]) : null;
  if (entry) {
    p.name ??= asString(entry.name);
    const legacy = asString(entry.legacy_hash);
    if (legacy) p.legacyHash ??= hashFields(legacy).legacyHash;
    if (entry.sd_merge_recipe && depth < MAX_DEPTH && !seen.has(p.sha256!)) {
      p.recipe = parseRecipe(entry.sd_merge_recipe, models, depth + 1, new Set([...seen, p.sha256!]));
    }
  }
  return p;
}

function impliedWeights(method: string | null, alpha: number | null, beta: number | null, parents: number): number[] | null {
  if (!method || alpha === null) return null;
  const m = method.toLowerCase().replace(/[\s_-]+/g, ' ');
  if (/no interpolation/.test(m)) return [1];
  if (/weight(ed)? sum/.test(m) && parents >= 2) return [1 - alpha, alpha];
  if (/add diff/.test(m) && parents >= 3) return [1, alpha, -alpha];
  if (/triple sum/.test(m) && parents >= 3 && beta !== null) return [1 - alpha - beta, alpha, beta];
  if (/sum twice/.test(m) && parents >= 3 && beta !== null) return [(1 - alpha) * (1 - beta), alpha * (1 - beta), beta];
  return null;
}

/** Parses an sd_merge_recipe value (object or JSON text) into a DeclaredRecipe; null when it is not one. */
export function parseRecipe(value: unknown, models: Record<string, unknown> | null, depth = 0, seen = new Set<string>()): DeclaredRecipe | null {
  const r = asObject(value);
  if (!r) return null;
  const type = asString(r.type);
  const parents: DeclaredParent[] = [];
  const roles: [string, string][] = [];
  for (const [k, role] of [
    ['primary_model_hash', 'A'],
    ['secondary_model_hash', 'B'],
    ['tertiary_model_hash', 'C'],
    ['model_a', 'A'],
    ['model_b', 'B'],
    ['model_c', 'C'],
  ] as const) {
    const v = asString(r[k]);
    if (v && !roles.some(([, x]) => x === role)) roles.push([v, role]);
  }
  for (const [v, role] of roles) parents.push(parentFrom(role, v, models, depth, seen));
  const tool = type ?? ('model_a' in r ? 'supermerger' : 'unknown');
  const method = asString(r.interp_method) ?? asString(r.mode) ?? asString(r.merge_method) ?? asString(r.calcmode);
  const alpha = asNumber(r.multiplier) ?? asNumber(r.base_alpha) ?? asNumber(r.alpha);
  const beta = asNumber(r.base_beta) ?? asNumber(r.beta);
  const bw = r.weights_alpha ?? r.block_weights ?? r.alphas;
  let blockWeights: number[] | null = null;
  if (typeof bw === 'string') {
    const nums = bw.split(/[,\s]+/).filter(Boolean).map(Number);
    if (nums.length > 1 && nums.every(Number.isFinite)) blockWeights = nums;
  } else if (Array.isArray(bw) && bw.length > 0 && bw.every((x) => asNumber(x) !== null)) blockWeights = bw.map((x) => asNumber(x)!);
  return {
    tool: tool === 'merge-model-chattiori' ? 'chattiori' : tool,
    method,
    alpha,
    beta,
    blockWeights,
    parents,
    impliedWeights: impliedWeights(method, alpha, beta, parents.length),
  };
}

/** Everything a model's metadata declares about where it comes from (pure). */
export function declaredLineage(metadata: Record<string, string>): DeclaredLineage {
  const notes: string[] = [];
  const keys = Object.keys(metadata).filter((k) => k === 'sd_merge_recipe' || k === 'sd_merge_models' || k.startsWith('modelspec.') || k.startsWith('ss_sd_model') || k === 'ss_new_sd_model_hash' || k.startsWith('sshs_')).sort();
  const models = metadata.sd_merge_models !== undefined ? asObject(metadata.sd_merge_models) : null;
  if (metadata.sd_merge_models !== undefined && !models) notes.push('sd_merge_models is not a JSON object');
  const recipe = metadata.sd_merge_recipe !== undefined ? parseRecipe(metadata.sd_merge_recipe, models) : null;
  if (metadata.sd_merge_recipe !== undefined && !recipe && metadata.sd_merge_recipe !== 'null') notes.push('sd_merge_recipe is not a JSON object');

  const mergedFrom: DeclaredParent[] = [];
  const mf = metadata['modelspec.merged_from'];
  if (mf) for (const part of mf.split(',').map((s) => s.trim()).filter(Boolean)) mergedFrom.push(parentFrom('merged_from', part, models, 0, new Set()));

  let trainedFrom: DeclaredParent | null = null;
  const baseName = metadata.ss_sd_model_name;
  const baseNew = metadata.ss_new_sd_model_hash;
  const baseOld = metadata.ss_sd_model_hash;
  if (baseName || baseNew || baseOld) {
    trainedFrom = { role: 'training base', name: baseName ? splitNameAndHash(baseName).name : null, ...hashFields(baseNew ?? null), recipe: null, match: null };
    if (baseOld) {
      const h = hashFields(baseOld);
      trainedFrom.legacyHash = h.legacyHash;
      trainedFrom.shortHash ??= h.shortHash;
    }
  }

  const direct = new Set<string>();
  for (const p of recipe?.parents ?? []) if (p.sha256) direct.add(p.sha256);
  const ancestors: DeclaredParent[] = [];
  if (models) {
    for (const [k, v] of Object.entries(models)) {
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(k) || direct.has(k.toLowerCase())) continue;
      const entry = asObject(v);
      ancestors.push({
        role: 'ancestor',
        name: entry ? asString(entry.name) : null,
        sha256: k.toLowerCase(),
        shortHash: null,
        legacyHash: entry ? hashFields(asString(entry.legacy_hash)).legacyHash : null,
        recipe: entry?.sd_merge_recipe ? parseRecipe(entry.sd_merge_recipe, models, 1, new Set([k.toLowerCase()])) : null,
        match: null,
      });
    }
  }

  const selfHashes: DeclaredLineage['selfHashes'] = [];
  for (const k of ['modelspec.hash_sha256', 'sshs_model_hash', 'sshs_legacy_hash']) if (metadata[k]) selfHashes.push({ key: k, value: metadata[k]!, matches: null });

  return {
    title: metadata['modelspec.title'] ?? metadata.ss_output_name ?? null,
    architecture: metadata['modelspec.architecture'] ?? metadata.ss_base_model_version ?? null,
    author: metadata['modelspec.author'] ?? null,
    recipe,
    mergedFrom,
    trainedFrom,
    ancestors,
    selfHashes,
    keys,
    notes,
  };
}

/** Finds a declared model among the folder's models (never `self`): by hash first, then by name. */
export function matchDeclared(p: DeclaredParent, result: CompareResult, hashes: readonly (FileHashes | null)[] | null, self: number): ModelMatch | null {
  const models = result.models;
  if (hashes) {
    for (const h of [p.sha256, p.shortHash, p.legacyHash]) {
      if (!h) continue;
      for (let j = 0; j < models.length; j++) {
        const fh = hashes[j];
        if (j === self || !fh) continue;
        const by = matchHash(h, fh);
        if (by) return { model: j, file: models[j]!.file, by };
      }
    }
  }
  if (p.name) {
    const want = normalizeModelName(p.name);
    const j = models.findIndex((m, i) => i !== self && normalizeModelName(m.file) === want);
    if (j >= 0) return { model: j, file: models[j]!.file, by: 'name' };
  }
  return null;
}

function matchAll(p: DeclaredParent, result: CompareResult, hashes: readonly (FileHashes | null)[] | null, self: number, depth = 0): void {
  p.match = matchDeclared(p, result, hashes, self);
  if (p.recipe && depth < MAX_DEPTH) for (const q of p.recipe.parents) matchAll(q, result, hashes, p.match?.model ?? -1, depth + 1);
}

/** The UNet status of a pair as result.json says it (undefined: a model lacks the UNet). */
function unetStatus(result: CompareResult, i: number, j: number): string | undefined {
  return result.pairs[pairIndex(i, j, result.models.length)]?.components.unet?.status;
}

export interface LineageOptions {
  /** file hashes by model index (null entries: unknown); without them parents are matched by name only */
  hashes?: readonly (FileHashes | null)[] | null;
  /** how many nearest models to list (default 3) */
  nearest?: number;
}

/** Declared lineage of every model of a result, matched to the folder, beside the nearest measured models. */
export function lineageReport(result: CompareResult, opts: LineageOptions = {}): LineageReport {
  const hashes = opts.hashes ?? null;
  const k = opts.nearest ?? 3;
  const n = result.models.length;
  const out: ModelLineage[] = [];
  const declaredEdges: LineageReport['declaredEdges'] = [];
  for (let i = 0; i < n; i++) {
    const info = result.models[i]!;
    const declared = declaredLineage(info.metadata ?? {});
    for (const p of [...(declared.recipe?.parents ?? []), ...declared.mergedFrom, ...declared.ancestors]) matchAll(p, result, hashes, i);
    if (declared.trainedFrom) matchAll(declared.trainedFrom, result, hashes, i);
    const own = hashes?.[i];
    for (const s of declared.selfHashes) {
      if (!own) continue;
      if (s.key === 'sshs_model_hash') s.matches = own.autov3 !== null && s.value.trim().toLowerCase().replace(/^0x/, '') === own.autov3;
      else if (s.key === 'sshs_legacy_hash') s.matches = s.value.trim().toLowerCase() === own.legacy;
      // modelspec.hash_sha256 hashes each tensor serialised on its own: not comparable with any file hash
    }

    const parents = declared.recipe?.parents.length ? declared.recipe.parents : declared.mergedFrom.length ? declared.mergedFrom : declared.trainedFrom ? [declared.trainedFrom] : [];
    for (const p of parents) if (p.match) declaredEdges.push({ parent: p.match.model, child: i, role: p.role });

    const near: ModelLineage['nearest'] = [];
    const sameUnet: number[] = [];
    const equalUnet: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const status = unetStatus(result, i, j);
      if (status === 'identical') sameUnet.push(j);
      else if (status === 'equal_values') equalUnet.push(j);
      else {
        const d2 = componentD2(result, i, j, 'unet');
        if (d2 !== null) near.push({ model: j, file: result.models[j]!.file, l2: Math.sqrt(d2) });
      }
    }
    near.sort((x, y) => x.l2 - y.l2 || x.model - y.model);
    // distinct UNets only: a model at L2 0 from one already listed (a copy, or equal on the comparable keys) adds
    // nothing to the distances; that says nothing about being identical, which sameUnet and equalUnet say
    const nearest: ModelLineage['nearest'] = [];
    for (const x of near) {
      if (nearest.length >= k) break;
      if (!nearest.some((y) => componentD2(result, x.model, y.model, 'unet') === 0)) nearest.push(x);
    }
    const matched = [...new Set(parents.filter((p) => p.match).map((p) => p.match!.model))];
    const nearSet = new Set(nearest.map((x) => x.model));

    let estimate = null;
    if (matched.length >= 2 && matched.length <= 12) {
      const m = matched.map((j) => componentD2(result, i, j, 'unet'));
      const D = matched.map((a) => matched.map((b) => componentD2(result, a, b, 'unet')));
      if (m.every((x) => x !== null) && D.every((row) => row.every((x) => x !== null))) estimate = fitMixture(m as number[], D as number[][], 'UNET');
    }
    out.push({
      model: i,
      file: info.file,
      declared,
      parents,
      nearest,
      sameUnet,
      equalUnet,
      confirmed: matched.filter((j) => nearSet.has(j)),
      unconfirmed: matched.filter((j) => !nearSet.has(j)),
      estimate,
      estimateParents: estimate ? matched : [],
    });
  }
  return { models: out, declaredEdges, hashesUsed: hashes !== null && hashes.some((h) => h !== null) };
}
