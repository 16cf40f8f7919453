import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadedModel } from '../model/loadModel';
import { writeFileAtomicWith } from '../io/atomicWrite';
import { TOOL_VERSION } from '../output/toolVersion';
import { COUNT_FIELDS, FLOAT_FIELDS, newCountSums, newFloatSums, type CountSums, type SumNode } from './partialSums';
import type { FoldState, HealthSums, PendingRow } from './resultBuilder';

/**
 * A partial-sums file: the state of a fold (resultBuilder.ts) over some of a plan's leaves, with what it was computed
 * from. A run writes one as its checkpoint in its staging folder (`<out>.partial/`); `compare --shard i/n` leaves one
 * in its output folder; `merge` adds shards' files together. Layout: "MDSUMS01", u32 length of a JSON header, the
 * header, then the binary arrays the header lists, in its order (little-endian): every node's float sums (per
 * component d2, dot, na, nb, P float64 each), the counts (per component 4 x P int32), the pending rows (l2, cos, P
 * float32 each), then (when the header says so) the identity classes, keys x models int32, and the engine's routes,
 * keys x models uint8 (FoldState.classes, routes).
 * A finished compare run keeps its final state in this format beside result.json (with `keyNames`), for the next run
 * over the same folder to reuse (pipeline/incremental.ts).
 */
export const SUMS_FILE = 'partial-sums.mdsum';
const MAGIC = 'MDSUMS01';

/** What the sums were computed from: equal fingerprints give equal bits for the same leaf. */
export interface SumsFingerprint {
  tool: string;
  /** options that change the numbers (the workers, the memory budget and the tasks do not) */
  options: { components: string[] | null; includeEma: boolean; kernels: string };
  /** every model in plan order: its files' (path, size, mtime) and a digest of its tensor table (the header read) */
  models: { path: string; files: { path: string; size: number; mtimeNs: string }[]; header: string }[];
  leaves: number;
  keys: number;
  pairs: number;
  /**
   * what this work adds to, for a run that reuses an earlier result (pipeline/incremental.ts): its checkpoint holds
   * only the units that run computes, so it is no use to a run with another basis (absent: the whole work)
   */
  basis?: string;
}

export interface SumsFile {
  fingerprint: SumsFingerprint;
  /** the inputs and options of the run that wrote it (merge runs the plan again from them) */
  run: { inputs: string[]; workers: number; memoryBudgetMiB: number; extractWeights: boolean };
  shard: { index: number; count: number } | null;
  /** leaves this file is about: a shard's share, or all of them for a run's checkpoint */
  share: Uint8Array;
  state: FoldState;
  bytesRead: number;
  /** the kernels that computed it (their name, as the result's stats give it) */
  kernels: string;
  /** a finished run's file (beside its result.json): the key of every layers.bin row, for the next run to reuse it */
  keyNames?: string[];
}

export function sumsFingerprint(models: LoadedModel[], options: SumsFingerprint['options'], leaves: number, keys: number): SumsFingerprint {
  return {
    tool: TOOL_VERSION,
    options,
    models: models.map((m) => ({
      path: m.info.path,
      files: m.files.map((f) => ({ path: f.path, size: f.identity.size, mtimeNs: f.identity.mtimeNs })),
      header: headerDigest(m),
    })),
    leaves,
    keys,
    pairs: (models.length * (models.length - 1)) / 2,
  };
}

function headerDigest(m: LoadedModel): string {
  const h = createHash('sha256');
  for (const key of [...m.tensors.keys()].sort()) {
    const t = m.tensors.get(key)!;
    h.update(JSON.stringify([key, t.component, t.ref]));
    h.update('\n');
  }
  return h.digest('hex').slice(0, 32);
}

/** Why `found` is not `want` (null: the same), in words for the user. */
export function fingerprintDifference(want: SumsFingerprint, found: SumsFingerprint): string | null {
  if (found.tool !== want.tool) return `it was written by modeldiff ${found.tool}`;
  if (JSON.stringify(found.options) !== JSON.stringify(want.options)) return `the options differ (${describeOptions(found.options)} then, ${describeOptions(want.options)} now)`;
  if (found.models.length !== want.models.length) return `it is about ${found.models.length} models, this run ${want.models.length}`;
  for (let i = 0; i < want.models.length; i++) {
    const a = found.models[i]!;
    const b = want.models[i]!;
    if (a.path !== b.path) return `model ${i + 1} was ${a.path}, it is ${b.path} now`;
    for (let f = 0; f < Math.max(a.files.length, b.files.length); f++) {
      const x = a.files[f];
      const y = b.files[f];
      if (!x || !y || x.path !== y.path) return `${b.path} is made of other files now`;
      if (x.size !== y.size) return `${y.path} changed (size ${x.size} then, ${y.size} now)`;
      if (x.mtimeNs !== y.mtimeNs) return `${y.path} changed (modified since)`;
    }
    if (a.header !== b.header) return `${b.path} changed (its tensor table differs)`;
  }
  if (found.leaves !== want.leaves || found.keys !== want.keys || found.pairs !== want.pairs) return 'the work is split differently';
  if ((found.basis ?? '') !== (want.basis ?? '')) return found.basis ? 'it adds to an earlier result this run does not reuse' : 'this run adds to an earlier result';
  return null;
}

export function describeOptions(o: SumsFingerprint['options']): string {
  return `components ${o.components?.join(',') ?? 'all'}, EMA ${o.includeEma ? 'in' : 'out'}, ${o.kernels} kernels`;
}

interface Header {
  version: 2;
  fingerprint: SumsFingerprint;
  run: SumsFile['run'];
  shard: SumsFile['shard'];
  share: string;
  nodes: { first: number; end: number; components: string[] }[];
  counts: string[];
  rows: { key: number; folded: number }[];
  written: string;
  health: HealthSums[];
  tensorsCompared: number;
  identicalGroups: number;
  bytesRead: number;
  kernels: string;
  keyNames?: string[];
  /** the identity classes (FoldState.classes) follow the pending rows: keys x models int32 */
  classes?: boolean;
  /** then the engine's routes (FoldState.routes): keys x models uint8 */
  routes?: boolean;
}

/** Writes the file atomically and durably (synced before the rename, and the folder after it). */
export function writeSumsFile(path: string, f: SumsFile): void {
  const s = f.state;
  const nodes = s.nodes.map((n) => ({ first: n.first, end: n.end, components: [...n.sums.keys()].sort() }));
  const counts = [...s.counts.keys()].sort();
  const rows = [...s.rows.keys()].sort((a, b) => a - b);
  const header: Header = {
    version: 2,
    fingerprint: f.fingerprint,
    run: f.run,
    shard: f.shard,
    share: Buffer.from(f.share).toString('base64'),
    nodes,
    counts,
    rows: rows.map((key) => ({ key, folded: s.rows.get(key)!.folded })),
    written: Buffer.from(s.written).toString('base64'),
    health: s.health,
    tensorsCompared: s.tensorsCompared,
    identicalGroups: s.identicalGroups,
    bytesRead: f.bytesRead,
    kernels: f.kernels,
    ...(f.keyNames ? { keyNames: f.keyNames } : {}),
    classes: true,
    routes: true,
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  writeFileAtomicWith(path, (fd) => {
    const put = (a: ArrayBufferView) => writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    put(head);
    put(json);
    s.nodes.forEach((n, i) => {
      // (read once: a spilled node's sums are read from its file each time)
      const sums = n.sums;
      for (const c of nodes[i]!.components) for (const field of FLOAT_FIELDS) put(sums.get(c)![field]);
    });
    for (const c of counts) for (const field of COUNT_FIELDS) put(s.counts.get(c)![field]);
    for (const key of rows) {
      put(s.rows.get(key)!.l2);
      put(s.rows.get(key)!.cos);
    }
    put(s.classes);
    put(s.routes);
    fsyncSync(fd);
  });
  syncFolder(dirname(path));
}

/** The inputs of the run that wrote a partial-sums file (its header only is read); null when it is not one. */
export function readSumsInputs(path: string): string[] | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) !== 12 || head.toString('latin1', 0, 8) !== MAGIC) return null;
    const json = Buffer.alloc(head.readUInt32LE(8));
    if (readSync(fd, json, 0, json.length, 12) !== json.length) return null;
    const header = JSON.parse(json.toString('utf8')) as Partial<Header>;
    return header.shard === null && Array.isArray(header.run?.inputs) ? header.run.inputs : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Reads a partial-sums file; throws a plain Error saying what is wrong with it. */
export function readSumsFile(path: string): SumsFile {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a modeldiff partial-sums file');
  const length = buf.readUInt32LE(8);
  if (12 + length > buf.length) throw new Error('the file is cut short');
  const header = JSON.parse(buf.toString('utf8', 12, 12 + length)) as Header;
  if (header.version !== 2) throw new Error(`partial-sums version ${String(header.version)} is not one this modeldiff reads`);
  const P = header.fingerprint.pairs;
  let at = 12 + length;
  const take = <T extends Float64Array | Int32Array | Float32Array | Uint8Array>(make: (n: number) => T, n = P): T => {
    const a = make(n);
    const bytes = a.byteLength;
    if (at + bytes > buf.length) throw new Error('the file is cut short');
    new Uint8Array(a.buffer).set(buf.subarray(at, at + bytes));
    at += bytes;
    return a;
  };
  const nodes = header.nodes.map((n) => {
    const sums: SumNode = new Map();
    for (const c of n.components) {
      const f = newFloatSums(0);
      for (const field of FLOAT_FIELDS) f[field] = take((k) => new Float64Array(k));
      sums.set(c, f);
    }
    return { first: n.first, end: n.end, sums };
  });
  const counts = new Map<string, CountSums>();
  for (const c of header.counts) {
    const cs = newCountSums(0);
    for (const field of COUNT_FIELDS) cs[field] = take((k) => new Int32Array(k));
    counts.set(c, cs);
  }
  const rows = new Map<number, PendingRow>();
  for (const r of header.rows) rows.set(r.key, { folded: r.folded, l2: take((k) => new Float32Array(k)), cos: take((k) => new Float32Array(k)) });
  const classCount = header.fingerprint.keys * header.fingerprint.models.length;
  // (a file of an earlier version has none: every class unknown)
  const classes = header.classes ? take((k) => new Int32Array(k), classCount) : new Int32Array(classCount).fill(-1);
  const routes = header.routes ? take((k) => new Uint8Array(k), classCount) : new Uint8Array(classCount);
  if (at !== buf.length) throw new Error('the file has bytes past its end');
  return {
    fingerprint: header.fingerprint,
    run: header.run,
    shard: header.shard,
    share: new Uint8Array(Buffer.from(header.share, 'base64')),
    state: {
      nodes,
      counts,
      rows,
      written: new Uint8Array(Buffer.from(header.written, 'base64')),
      health: header.health,
      tensorsCompared: header.tensorsCompared,
      identicalGroups: header.identicalGroups,
      classes,
      routes,
    },
    bytesRead: header.bytesRead,
    kernels: header.kernels,
    ...(header.keyNames ? { keyNames: header.keyNames } : {}),
  };
}

function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
