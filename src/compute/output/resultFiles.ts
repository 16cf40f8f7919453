import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomicWrite';
import { join } from 'node:path';
import { ModeldiffError } from '../../shared/errors';
import { pairIndex, type CompareResult } from '../../shared/result';
import { readLayerColumn } from './layersFile';

export const RESULT_FILE = 'result.json';
export const MODEL_MAP_FILE = 'model_map_v2.json';

export function writeResultJson(dir: string, result: CompareResult): void {
  writeFileAtomic(join(dir, RESULT_FILE), JSON.stringify(result, null, 1));
}

/**
 * The notebook's model_map_v2.json: "ml" = model file names in matrix order, "dm" = component -> N x N L2 matrix.
 * null where a pair is not comparable; the diagonal is 0 for a model that has the component (null otherwise).
 */
export function modelMap(result: CompareResult): { ml: string[]; dm: Record<string, (number | null)[][]> } {
  const n = result.models.length;
  const dm: Record<string, (number | null)[][]> = {};
  for (const c of result.components) {
    const mat: (number | null)[][] = [];
    for (let i = 0; i < n; i++) {
      mat.push(new Array<number | null>(n).fill(null));
      if (result.models[i]!.components[c]) mat[i]![i] = 0;
    }
    for (const p of result.pairs) {
      const d = p.components[c]?.l2 ?? null;
      mat[p.a]![p.b] = d;
      mat[p.b]![p.a] = d;
    }
    dm[c] = mat;
  }
  return { ml: result.models.map((m) => m.file), dm };
}

export function writeModelMap(dir: string, result: CompareResult): void {
  writeFileAtomic(join(dir, MODEL_MAP_FILE), JSON.stringify(modelMap(result)));
}

export function readResult(dir: string): CompareResult {
  let text: string;
  try {
    text = readFileSync(join(dir, RESULT_FILE), 'utf8');
  } catch {
    throw new ModeldiffError('USAGE', `no ${RESULT_FILE} in ${dir}: run \`modeldiff compare ... --out ${dir}\` first`);
  }
  return JSON.parse(text) as CompareResult;
}

export interface LayerRow {
  key: string;
  component: string;
  /** null where the key is missing in one model, shapes differ, or values are not finite */
  l2: number | null;
  cosine: number | null;
}

/** Finds a model by index, file name, or path (as the user types it). */
export function findModelIndex(result: CompareResult, nameOrIndex: string): number {
  const stem = (f: string) => f.replace(/\.[^.]*$/, '');
  const byName = result.models.findIndex((m) => m.file === nameOrIndex || m.path === nameOrIndex);
  if (byName >= 0) return byName;
  const byStem = result.models.findIndex((m) => stem(m.file) === nameOrIndex);
  if (byStem >= 0) return byStem;
  if (/^\d+$/.test(nameOrIndex) && Number(nameOrIndex) < result.models.length) return Number(nameOrIndex);
  const partial = result.models.filter((m) => m.file.includes(nameOrIndex));
  if (partial.length === 1) return partial[0]!.index;
  const known = result.models.map((m) => m.file).join(', ');
  throw new ModeldiffError('USAGE', partial.length > 1 ? `"${nameOrIndex}" matches several models: ${partial.map((m) => m.file).join(', ')}` : `no model "${nameOrIndex}" in this result (models: ${known})`);
}

/** The per-layer table of one pair, from layers.bin. */
export function pairLayers(dir: string, result: CompareResult, a: number, b: number): LayerRow[] {
  if (a === b) throw new ModeldiffError('USAGE', 'pick two different models');
  const p = pairIndex(a, b, result.models.length);
  const col = readLayerColumn(join(dir, result.layers.file), p);
  const [l2, cos] = col.planes;
  return result.layers.keys.map((key, k) => ({
    key,
    component: result.layers.keyComponents[k]!,
    l2: Number.isNaN(l2![k]!) ? null : l2![k]!,
    cosine: cos && !Number.isNaN(cos[k]!) ? cos[k]! : null,
  }));
}
