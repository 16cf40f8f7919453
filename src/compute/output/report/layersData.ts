/**
 * The per-layer values a report carries: layers.bin columns of chosen pairs, as base64 float32 (little-endian),
 * exactly the values the panel reads from layers.bin. A folder of N models has N(N-1)/2 pairs, so past a byte budget
 * the report keeps the pairs people look at first: each model's nearest neighbour per component, then the rest in
 * order of increasing UNet distance.
 */
import { LayersReader, type ResultSource } from '../../analysis/layers';
import type { CompareResult } from '../../../shared/result';
import type { ReportLayers } from '../../../shared/report';

export const DEFAULT_LAYERS_BUDGET_MIB = 48;

/** Pair indexes in the order they earn a place in the report. */
export function pairPriority(result: CompareResult): number[] {
  const n = result.models.length;
  const chosen = new Set<number>();
  const order: number[] = [];
  const take = (p: number) => {
    if (!chosen.has(p)) {
      chosen.add(p);
      order.push(p);
    }
  };
  for (const c of result.components) {
    for (let m = 0; m < n; m++) {
      let best = -1;
      let bestL2 = Infinity;
      result.pairs.forEach((pr, p) => {
        if (pr.a !== m && pr.b !== m) return;
        const l2 = pr.components[c]?.l2;
        if (l2 !== null && l2 !== undefined && l2 < bestL2) {
          bestL2 = l2;
          best = p;
        }
      });
      if (best >= 0) take(best);
    }
  }
  const first = result.components.includes('unet') ? 'unet' : result.components[0];
  const rest = result.pairs.map((_, p) => p).filter((p) => !chosen.has(p));
  const dist = (p: number) => (first ? (result.pairs[p]!.components[first]?.l2 ?? Infinity) : Infinity);
  rest.sort((x, y) => dist(x) - dist(y) || x - y);
  rest.forEach(take);
  return order;
}

function base64(cols: Float32Array[]): string {
  const all = new Float32Array(cols.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of cols) {
    all.set(c, at);
    at += c.length;
  }
  // layers.bin is little-endian and LayersReader reads it into native Float32Arrays: these are its bytes as stored
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64');
}

export function reportLayers(src: ResultSource, budgetBytes: number): ReportLayers {
  const { result } = src;
  const keys = result.layers.keys.length;
  const planes = result.layers.planes;
  const perPair = keys * planes.length * 4;
  const total = result.pairs.length;
  const fit = perPair === 0 ? total : Math.min(total, Math.floor(budgetBytes / perPair));
  const pairs = (fit >= total ? result.pairs.map((_, p) => p) : pairPriority(result).slice(0, fit)).sort((x, y) => x - y);
  const reader = LayersReader.of(src);
  try {
    const plane = (name: 'l2' | 'cosine') => {
      const i = planes.indexOf(name);
      return i < 0 || pairs.length === 0 ? null : base64(reader.readColumns(i, pairs));
    };
    return { pairs, l2: plane('l2') ?? '', cosine: plane('cosine'), omitted: total - pairs.length, budgetBytes };
  } finally {
    reader.close();
  }
}
