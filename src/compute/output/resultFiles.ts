import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import schema from '../../../schema/result.schema.json';
import { distinctPathSuffixes } from '../../shared/displayNames';
import { writeFileAtomicWith } from '../io/atomicWrite';
import { JsonPieces, writeJsonStream } from './jsonStream';
import { parseJsonInPieces } from './jsonPieces';
import { outputError } from './outputError';
import { ModeldiffError } from '../../shared/errors';
import { validate } from '../../shared/jsonSchema';
import { modelLabel, pairIndex, RESULT_SCHEMA_VERSION, type CompareResult } from '../../shared/result';
import { readLayerColumn } from './layersFile';

export const RESULT_FILE = 'result.json';
export const MODEL_MAP_FILE = 'model_map_v2.json';

/**
 * Writes `value` as JSON, atomically, as a stream (output/jsonStream.ts): the same text as JSON.stringify, never held
 * whole, so neither its size in memory nor V8's longest string (about 512 MB) ends a run.
 */
function writeJsonFile(path: string, value: unknown, indent?: number): void {
  try {
    writeFileAtomicWith(path, (fd) => writeJsonStream(fd, value, indent));
  } catch (e) {
    throw outputError(e, path, `write ${basename(path)}`);
  }
}

export function writeResultJson(dir: string, result: CompareResult): void {
  writeJsonFile(join(dir, RESULT_FILE), result, 1);
}

/**
 * The notebook's model_map_v2.json: "ml" = model names in matrix order, "dm" = component -> N x N L2 matrix.
 * Written in the notebook's own convention, where 0 means "no such comparison, skip" (its plotting cells build a
 * numpy array and a networkx graph from it, and an array holding null fails there): a pair that is not comparable, or
 * a model without the component, is 0 here. result.json keeps null for those, and tells 0 (identical) from absent.
 */
export function modelMap(result: CompareResult): { ml: string[]; dm: Record<string, number[][]> } {
  const n = result.models.length;
  const dm: Record<string, number[][]> = {};
  for (const c of result.components) {
    const mat: number[][] = [];
    for (let i = 0; i < n; i++) mat.push(new Array<number>(n).fill(0));
    for (const p of result.pairs) {
      const d = p.components[c]?.l2 ?? 0;
      mat[p.a]![p.b] = d;
      mat[p.b]![p.a] = d;
    }
    dm[c] = mat;
  }
  return { ml: result.models.map(modelLabel), dm };
}

/**
 * Writes modelMap(result) (the same text as JSON.stringify of it), a row at a time: the matrices are never built, only
 * each component's L2 per pair, as float64 (1,000 models: 4 MB a component; NaN where modelMap writes 0 for "no such
 * comparison").
 */
export function writeModelMap(dir: string, result: CompareResult): void {
  const path = join(dir, MODEL_MAP_FILE);
  const n = result.models.length;
  const l2 = new Map(result.components.map((c) => [c, new Float64Array(result.pairs.length).fill(NaN)]));
  result.pairs.forEach((pair, p) => {
    for (const [c, values] of l2) values[p] = pair.components[c]?.l2 ?? NaN;
  });
  const cell = (x: number) => (Number.isNaN(x) ? '0' : JSON.stringify(x));
  try {
    writeFileAtomicWith(path, (fd) => {
      const out = new JsonPieces(fd);
      out.write(`{"ml":${JSON.stringify(result.models.map(modelLabel))},"dm":{`);
      result.components.forEach((c, ci) => {
        const values = l2.get(c)!;
        out.write(`${ci ? ',' : ''}${JSON.stringify(c)}:[`);
        for (let i = 0; i < n; i++) {
          const row: string[] = [];
          for (let j = 0; j < n; j++) row.push(i === j ? '0' : cell(values[pairIndex(i, j, n)]!));
          out.write(`${i ? ',' : ''}[${row.join(',')}]`);
        }
        out.write(']');
      });
      out.write('}}');
      out.flush();
    });
  } catch (e) {
    throw outputError(e, path, `write ${basename(path)}`);
  }
}

/** result.json files larger than this are parsed a pair at a time (output/jsonPieces.ts). */
const PARSE_IN_PIECES_BYTES = 64 << 20;

export function readResult(dir: string, inPiecesAbove = PARSE_IN_PIECES_BYTES): CompareResult {
  const path = join(dir, RESULT_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModeldiffError('USAGE', `no ${RESULT_FILE} in ${dir}: run \`modeldiff compare ... --out ${dir}\` first`, { details: { input: dir } });
    throw new ModeldiffError('IO_ERROR', `cannot read ${RESULT_FILE} (${code ?? String(e)})`, { file: path, cause: e });
  }
  return parseResult(bytes, path, inPiecesAbove);
}

/**
 * A result.json checked before anything reads it: JSON, a modeldiff result of the schema version this build reads,
 * valid against schema/result.schema.json and consistent (one pair per two models, indices in range). Older files
 * get their display names filled in. Anything else is a RESULT_INVALID error naming the file.
 */
export function parseResult(bytes: Uint8Array, path: string, inPiecesAbove = PARSE_IN_PIECES_BYTES): CompareResult {
  const invalid = (why: string) => new ModeldiffError('RESULT_INVALID', `${why}; run \`modeldiff compare\` again to write a new one`, { file: path });
  let value: unknown;
  try {
    // (a 1,000-model result, 860 MB, is beyond V8's longest string)
    value = bytes.length > inPiecesAbove ? parseJsonInPieces(bytes, 'pairs') : JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (e) {
    throw invalid(`not a modeldiff result: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid('not a modeldiff result: a JSON object is expected');
  const v = value as { schemaVersion?: unknown; tool?: { name?: unknown; version?: unknown } };
  if (v.schemaVersion === undefined) throw invalid(`not a modeldiff result: it has no schemaVersion${v.tool?.name === 'modeldiff' ? '' : ' and no tool name'}`);
  if (v.schemaVersion !== RESULT_SCHEMA_VERSION) {
    const newer = typeof v.schemaVersion === 'number' && v.schemaVersion > RESULT_SCHEMA_VERSION;
    throw new ModeldiffError(
      'RESULT_INVALID',
      newer
        ? `written by a newer modeldiff${typeof v.tool?.version === 'string' ? ` (${v.tool.version})` : ''} in schema version ${v.schemaVersion}; this one reads version ${RESULT_SCHEMA_VERSION}: update modeldiff`
        : `schema version ${JSON.stringify(v.schemaVersion)} is not one this modeldiff reads (${RESULT_SCHEMA_VERSION}); run \`modeldiff compare\` again`,
      { file: path },
    );
  }
  const errors = validate(schema as Record<string, unknown>, value, 5);
  if (errors.length) throw invalid(`damaged or edited: it does not match schema/result.schema.json (${errors.join('; ')})`);
  const result = value as CompareResult;
  const n = result.models.length;
  const broken =
    result.models.findIndex((m, i) => m.index !== i) >= 0
      ? 'model indices are not their positions'
      : result.pairs.length !== (n * (n - 1)) / 2
        ? `${result.pairs.length} pairs for ${n} models (${(n * (n - 1)) / 2} expected)`
        : result.pairs.some((p, i) => !(p.a < p.b && p.b < n) || pairIndex(p.a, p.b, n) !== i)
          ? 'a pair names models out of order or out of range'
          : result.layers.pairs !== result.pairs.length || result.layers.keyComponents.length !== result.layers.keys.length
            ? 'its layers index does not match its pairs and keys'
            : null;
  if (broken) throw invalid(`damaged: ${broken}`);
  if (result.models.some((m) => m.displayName === undefined)) {
    const names = distinctPathSuffixes(result.models.map((m) => m.path));
    result.models.forEach((m, i) => (m.displayName ??= names[i]!));
  }
  return result;
}

export interface LayerRow {
  key: string;
  component: string;
  /** null where the key is missing in one model, shapes differ, or values are not finite */
  l2: number | null;
  cosine: number | null;
}

/**
 * Finds a model by what a user types: its display name, path, file name or stem (when only one model has it), index,
 * or a part of its name that only one model has. A name that several models share is an error listing them.
 */
export function findModelIndex(result: CompareResult, nameOrIndex: string): number {
  const stem = (f: string) => f.replace(/\.[^.]*$/, '');
  const models = result.models;
  const several = (list: typeof models) =>
    new ModeldiffError('USAGE', `"${nameOrIndex}" matches several models: ${list.map((m) => `${modelLabel(m)} (${m.index})`).join(', ')}; give more of the path or the index`);
  const exact = models.filter((m) => modelLabel(m) === nameOrIndex || m.path === nameOrIndex);
  if (exact.length === 1) return exact[0]!.index;
  for (const match of [(m: (typeof models)[number]) => m.file === nameOrIndex, (m: (typeof models)[number]) => stem(m.file) === nameOrIndex || stem(modelLabel(m)) === nameOrIndex]) {
    const hits = models.filter(match);
    if (hits.length === 1) return hits[0]!.index;
    if (hits.length > 1) throw several(hits);
  }
  if (/^\d+$/.test(nameOrIndex) && Number(nameOrIndex) < models.length) return Number(nameOrIndex);
  const partial = models.filter((m) => modelLabel(m).includes(nameOrIndex));
  if (partial.length === 1) return partial[0]!.index;
  if (partial.length > 1) throw several(partial);
  throw new ModeldiffError('USAGE', `no model "${nameOrIndex}" in this result (models: ${models.map(modelLabel).join(', ')})`);
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
