import { readFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic, writeFileAtomicWith } from '../io/atomicWrite';
import { outputError } from './outputError';
import { ModeldiffError } from '../../shared/errors';
import { pairIndex, type CompareResult } from '../../shared/result';
import { readLayerColumn } from './layersFile';

export const RESULT_FILE = 'result.json';
export const MODEL_MAP_FILE = 'model_map_v2.json';

/**
 * Writes `value` as JSON, atomically. A value whose text would not fit in one string (V8 stops near 512 MB: "Invalid
 * string length") is written piece by piece instead, without indentation, so its size never ends a run. (A streamed
 * result.json for every size is issue 12's; this keeps the run alive until then.)
 */
function writeJsonFile(path: string, value: unknown, indent?: number): void {
  try {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, null, indent);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    if (text !== undefined) writeFileAtomic(path, text);
    else writeFileAtomicWith(path, (fd) => writeJsonInPieces(fd, value));
  } catch (e) {
    throw outputError(e, path, `write ${basename(path)}`);
  }
}

function writeJsonInPieces(fd: number, value: unknown): void {
  let buf = '';
  const out = (s: string) => {
    buf += s;
    if (buf.length >= 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  };
  const emit = (v: unknown): void => {
    if (v && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
    if (Array.isArray(v)) {
      out('[');
      v.forEach((item, i) => {
        if (i) out(',');
        emit(item);
      });
      out(']');
    } else if (v !== null && typeof v === 'object') {
      out('{');
      let first = true;
      for (const [k, item] of Object.entries(v)) {
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        out(`${first ? '' : ','}${JSON.stringify(k)}:`);
        first = false;
        emit(item);
      }
      out('}');
    } else {
      // undefined in an array is null, as JSON.stringify writes it
      out(JSON.stringify(v) ?? 'null');
    }
  };
  emit(value);
  writeSync(fd, buf);
}

export function writeResultJson(dir: string, result: CompareResult): void {
  writeJsonFile(join(dir, RESULT_FILE), result, 1);
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
  writeJsonFile(join(dir, MODEL_MAP_FILE), modelMap(result));
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
