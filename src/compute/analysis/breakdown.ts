/**
 * A pair's distance broken down by group (merge block, layer type, VAE part, text-encoder layer), and the same for
 * every pair of a folder (group x pair: the heatmap). Everything comes from layers.bin's per-layer L2: a group's L2
 * is sqrt(sum of the per-layer L2^2 of its keys), so the groups of a component add up (in quadrature) to the
 * component's L2.
 */
import { pairIndex } from '../../shared/result';
import { ModeldiffError } from '../../shared/errors';
import { DEFAULT_TIME_EMBED, makeScheme, orderLabels, pairLayout, type BlockNaming, type GroupScheme, type SchemeName, type TimeEmbedPlacement, type UnetLayout } from './groups';
import { LayersReader, openSource, withLayers, type ResultSource } from './layers';
import type { BreakdownMatrix, GroupStat, PairBreakdown } from '../../shared/analysis';

export interface BreakdownOptions {
  scheme: SchemeName;
  timeEmbed?: TimeEmbedPlacement;
  /** block scheme: also give TE/TE0/TE1/VAE a slot each */
  otherComponents?: boolean;
  /** block scheme of the transformers: ComfyUI's names (default) or SuperMerger's */
  blockNames?: BlockNaming;
}

/** Per-layer values of one pair, as the layers table has them. */
export interface LayerValue {
  key: string;
  component: string;
  l2: number | null;
}

/** Groups per-layer values with a scheme (pure). */
export function breakdownRows(rows: Iterable<LayerValue>, scheme: GroupScheme): GroupStat[] {
  const acc = new Map<string, { d2: number; keys: number; changed: number }>();
  for (const r of rows) {
    const g = scheme.groupOf(r.key, r.component);
    if (g === null) continue;
    let s = acc.get(g);
    if (!s) acc.set(g, (s = { d2: 0, keys: 0, changed: 0 }));
    if (r.l2 === null || !Number.isFinite(r.l2)) continue;
    s.d2 += r.l2 * r.l2;
    s.keys++;
    if (r.l2 !== 0) s.changed++;
  }
  let total = 0;
  for (const s of acc.values()) total += s.d2;
  return orderLabels(scheme, acc.keys()).map((group) => {
    const s = acc.get(group)!;
    return {
      group,
      l2: s.keys > 0 ? Math.sqrt(s.d2) : null,
      keys: s.keys,
      changedKeys: s.changed,
      share: total > 0 && s.keys > 0 ? s.d2 / total : null,
    };
  });
}

function totals(groups: GroupStat[]): PairBreakdown['total'] {
  let d2 = 0;
  let keys = 0;
  let changed = 0;
  for (const g of groups) {
    if (g.l2 !== null) d2 += g.l2 * g.l2;
    keys += g.keys;
    changed += g.changedKeys;
  }
  return { l2: keys > 0 ? Math.sqrt(d2) : null, keys, changedKeys: changed };
}

/** The breakdown of one pair (models a and b by index), from a compare output folder or an already read result. */
export function breakdown(source: string | ResultSource, a: number, b: number, opts: BreakdownOptions): PairBreakdown {
  const src = openSource(source);
  const { result } = src;
  const n = result.models.length;
  if (a === b || a < 0 || b < 0 || a >= n || b >= n) throw new ModeldiffError('USAGE', 'pick two different models of the result');
  const timeEmbed = opts.timeEmbed ?? DEFAULT_TIME_EMBED;
  const layout = pairLayout(result.models[a]!.arch, result.models[b]!.arch);
  const scheme = makeScheme(opts.scheme, { timeEmbed, layout, otherComponents: opts.otherComponents ?? false, blockNames: opts.blockNames });
  const p = pairIndex(a, b, n);
  const [col] = withLayers(src, (r) => r.readColumns(0, [p]));
  const keys = result.layers.keys;
  const comps = result.layers.keyComponents;
  const rows = keys.map((key, k): LayerValue => ({ key, component: comps[k]!, l2: Number.isNaN(col![k]!) ? null : col![k]! }));
  const groups = breakdownRows(rows, scheme);
  return {
    scheme: opts.scheme,
    description: scheme.description,
    timeEmbed,
    layout,
    a: Math.min(a, b),
    b: Math.max(a, b),
    fileA: result.models[Math.min(a, b)]!.file,
    fileB: result.models[Math.max(a, b)]!.file,
    groups,
    total: totals(groups),
  };
}

/**
 * group x pair for every pair of the result, streaming layers.bin one key row at a time (memory: groups x pairs).
 * Block labels follow each pair's layout (SDXL base pairs have OUT08 as their last block).
 */
export function breakdownMatrix(source: string | ResultSource, opts: BreakdownOptions): BreakdownMatrix {
  const src = openSource(source);
  const { result } = src;
  const timeEmbed = opts.timeEmbed ?? DEFAULT_TIME_EMBED;
  const other = opts.otherComponents ?? false;
  const P = result.pairs.length;
  const layouts: UnetLayout[] = result.pairs.map((p) => pairLayout(result.models[p.a]!.arch, result.models[p.b]!.arch));
  const used = [...new Set(layouts)];
  const schemes = new Map(used.map((l) => [l, makeScheme(opts.scheme, { timeEmbed, layout: l, otherComponents: other, blockNames: opts.blockNames })] as const));

  // group index of each key under each layout used
  const labelIndex = new Map<string, number>();
  const labels: string[] = [];
  const indexOf = (l: string | null): number => {
    if (l === null) return -1;
    let i = labelIndex.get(l);
    if (i === undefined) {
      labelIndex.set(l, (i = labels.length));
      labels.push(l);
    }
    return i;
  };
  const K = result.layers.keys.length;
  const groupOfKey = new Map(used.map((l) => [l, new Int32Array(K).fill(-1)] as const));
  result.layers.keys.forEach((key, k) => {
    const c = result.layers.keyComponents[k]!;
    for (const [l, scheme] of schemes) groupOfKey.get(l)![k] = indexOf(scheme.groupOf(key, c));
  });
  const G = labels.length;
  const d2 = Array.from({ length: G }, () => new Float64Array(P));
  const changed = Array.from({ length: G }, () => new Int32Array(P));
  const keys = Array.from({ length: G }, () => new Int32Array(P));
  const layoutOfPair = Int32Array.from(layouts, (l) => used.indexOf(l));
  const byLayout = used.map((l) => groupOfKey.get(l)!);

  if (G > 0 && P > 0) {
    const reader = LayersReader.of(src);
    try {
      const row = new Float32Array(P);
      for (let k = 0; k < K; k++) {
        if (byLayout.every((g) => g[k]! < 0)) continue;
        reader.readRow(0, k, row);
        for (let p = 0; p < P; p++) {
          const g = byLayout[layoutOfPair[p]!]![k]!;
          if (g < 0) continue;
          const v = row[p]!;
          if (Number.isNaN(v)) continue;
          d2[g]![p] += v * v;
          keys[g]![p]!++;
          if (v !== 0) changed[g]![p]!++;
        }
      }
    } finally {
      reader.close();
    }
  }

  // keep groups with a key in some pair, in display order: the layouts' orders one after the other (UNet blocks, then
  // the transformers'), the 12-block layout first so that SDXL base pairs fit in it
  const present = labels.filter((_, g) => keys[g]!.some((x) => x > 0));
  const order: UnetLayout[] = (['sd', 'sdxl', 'flux', 'sd3'] as const).filter((l) => schemes.has(l));
  const ordered: string[] = [];
  for (const l of order) {
    const scheme = schemes.get(l)!;
    const mine = scheme.name === 'te' ? present : present.filter((x) => scheme.labels.includes(x));
    for (const label of orderLabels(scheme, mine)) if (!ordered.includes(label)) ordered.push(label);
  }
  ordered.push(...present.filter((x) => !ordered.includes(x)).sort());
  const idx = ordered.map((l) => labelIndex.get(l)!);
  const descriptions = [...new Set(order.map((l) => schemes.get(l)!.description))];
  const usesSd = schemes.has('sd');
  const usesSdxl = schemes.has('sdxl');
  return {
    scheme: opts.scheme,
    description: (opts.scheme === 'block' && usesSd && usesSdxl ? [descriptions[0] + ' (SDXL base pairs: OUT08 last)', ...descriptions.slice(2)] : descriptions).join('; ') || makeScheme(opts.scheme, { timeEmbed }).description,
    timeEmbed,
    groups: ordered,
    pairs: result.pairs.map((p) => ({ a: p.a, b: p.b })),
    layouts,
    l2: idx.map((g) => Array.from(d2[g]!, (v, p) => (keys[g]![p]! > 0 ? Math.sqrt(v) : null))),
    changedKeys: idx.map((g) => Array.from(changed[g]!)),
    keys: idx.map((g) => Array.from(keys[g]!)),
  };
}
