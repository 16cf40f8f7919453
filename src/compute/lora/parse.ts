/**
 * A LoRA / LyCORIS file, from its tensor table: modules (kind, factors, alpha, rank, scale, delta shape), the
 * family it was trained for, and the base weights it changes. Only the alpha scalars are read from the data.
 *
 * A file whose factors contradict each other (rank of up and down differ, alpha not a scalar, a factor of the wrong
 * rank...) is refused with LORA_INVALID naming the file and the tensor: its delta would be a wrong number. Modules
 * that are merely not usable (unknown layer name, a layer the base lacks or has in another shape, an unsupported
 * network type) are left out with a note naming the module, and the rest of the file is used.
 */
import type { Checkpoint, TensorRef } from '../model/checkpoint';
import { ModeldiffError } from '../../shared/errors';
import { guessFamily } from './family';
import { FileHandles, readableAsF64, readF64 } from './io';
import { identitiesOf } from '../io/regularFile';
import type { KeySpace } from './keySpace';
import { standardKeySpace } from './keySpace';
import { locateModule, splitTensorName, type ModuleLocation, type TensorRole, type UnsupportedRole } from './names';
import { componentOfStandardKey, FAMILY_LABEL, targetOf, type TargetSpec } from './targets';
import type { DeltaKind, FactorRole, LoraContribution, LoraFamily, LoraModel, LoraModule, LoraNaming, LoraNote, LoraTarget } from './types';

export interface ReadLoraOptions {
  /** Map targets onto this base (its family decides). Default: the family is guessed and standard keys are used. */
  space?: KeySpace;
  /** Without a base: the family to assume instead of guessing it. */
  family?: LoraFamily;
}

const UNSUPPORTED_LABEL: Record<UnsupportedRole, string> = {
  oft: 'OFT',
  boft: 'BOFT',
  glora: 'GLoRA',
  ia3: '(IA)^3',
  norm: 'trained norm layer (w_norm/b_norm)',
};

interface Group {
  name: string;
  roles: Map<TensorRole, TensorRef>;
  kinds: Set<string>;
}

/** Reads a LoRA from an opened checkpoint (any format openCheckpoint reads). */
export function readLora(ckpt: Checkpoint, opts: ReadLoraOptions = {}): LoraModel {
  const file = ckpt.path;
  const notes: LoraNote[] = [];
  const note = (message: string, key?: string) => notes.push(key === undefined ? { file, message } : { file, key, message });
  const invalid = (message: string, key: string) => new ModeldiffError('LORA_INVALID', `${key}: ${message}`, { file, details: { key } });

  // 1. tensors -> modules
  const groups = new Map<string, Group>();
  const unsupported = new Map<UnsupportedRole, Set<string>>();
  const unrecognised: string[] = [];
  for (const t of ckpt.tensors) {
    const s = splitTensorName(t.name);
    if (!s) {
      unrecognised.push(t.name);
      continue;
    }
    if ('unsupported' in s) {
      let set = unsupported.get(s.unsupported);
      if (!set) unsupported.set(s.unsupported, (set = new Set()));
      set.add(s.module);
      continue;
    }
    let g = groups.get(s.module);
    if (!g) groups.set(s.module, (g = { name: s.module, roles: new Map(), kinds: new Set() }));
    if (g.roles.has(s.role)) throw invalid(`two tensors give its ${s.role} (${g.roles.get(s.role)!.name} and ${t.name})`, s.module);
    g.roles.set(s.role, t);
    if (s.family !== 'any') g.kinds.add(s.family);
  }
  for (const [role, set] of unsupported) {
    for (const m of set) groups.delete(m);
    note(`${set.size} ${UNSUPPORTED_LABEL[role]} module(s) are not supported and are left out (first: ${[...set][0]})`);
  }
  if (groups.size === 0) {
    const why = unsupported.size > 0 ? 'it has only network types this version does not read' : `none of its ${ckpt.tensors.length} tensors is named like a LoRA or LyCORIS factor`;
    throw new ModeldiffError('LORA_UNSUPPORTED', `not a LoRA this version can read: ${why}`, { file });
  }
  if (unrecognised.length > 0) note(`${unrecognised.length} tensor(s) are not LoRA factors and are ignored (first: ${unrecognised[0]})`);

  // 2. modules: kind, shapes, alpha
  const files = new FileHandles(identitiesOf(ckpt.files));
  const modules: LoraModule[] = [];
  try {
    for (const g of [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const made = makeModules(g, files, invalid, note);
      modules.push(...made);
    }
  } finally {
    files.closeAll();
  }
  if (modules.length === 0) throw new ModeldiffError('LORA_UNSUPPORTED', 'not a LoRA this version can read: no module has a complete set of factors', { file });

  // 3. where each module points, the family, the targets
  const located: { module: LoraModule; index: number; loc: ModuleLocation }[] = [];
  modules.forEach((module, index) => {
    const loc = locateModule(module.name);
    if (loc) located.push({ module, index, loc });
    else note('not a module name this version knows (no lora_unet_/lora_te_/unet./transformer./text_encoder. prefix); left out', module.name);
  });
  let family: LoraFamily;
  let familyFrom: string;
  let space: KeySpace;
  if (opts.space) {
    space = opts.space;
    family = space.family;
    familyFrom = space.description;
  } else {
    const guess = opts.family ? { family: opts.family, from: 'given' } : guessFamily(located, ckpt.metadata);
    family = guess.family;
    familyFrom = guess.from;
    space = standardKeySpace(family);
  }
  const withoutAlpha = modules.filter((m) => m.kind !== 'full' && m.alpha === null).length;
  if (withoutAlpha > 0) {
    note(`${withoutAlpha} module(s) store no alpha: scale 1 (alpha = rank) is assumed, as diffusers applies such files; a PEFT adapter's lora_alpha in adapter_config.json is not read`);
  }
  const targets = resolveTargets(located, family, space, note);
  if (targets.length === 0) {
    const on = opts.space ? `onto ${space.description}` : `onto ${FAMILY_LABEL[family]} layers`;
    throw new ModeldiffError('LORA_INVALID', `no module of this LoRA maps ${on}${notes.length ? ` (${notes[notes.length - 1]!.message})` : ''}`, { file });
  }
  return { file, family, familyFrom, naming: commonNaming(located.map((l) => l.loc.naming)), modules, targets, metadata: ckpt.metadata, notes };
}

function commonNaming(namings: LoraNaming[]): LoraNaming {
  const counts = new Map<LoraNaming, number>();
  for (const n of namings) counts.set(n, (counts.get(n) ?? 0) + 1);
  let best: LoraNaming = 'kohya';
  let most = -1;
  for (const [n, c] of counts) if (c > most) [best, most] = [n, c];
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Modules

type Invalid = (message: string, key: string) => ModeldiffError;
type Note = (message: string, key?: string) => void;

const LORA_ROLES: FactorRole[] = ['down', 'up', 'mid'];
const LOHA_ROLES: FactorRole[] = ['w1a', 'w1b', 'w2a', 'w2b', 't1', 't2'];
const LOKR_ROLES: FactorRole[] = ['w1', 'w1a', 'w1b', 'w2', 'w2a', 'w2b', 't2'];

function makeModules(g: Group, files: FileHandles, invalid: Invalid, note: Note): LoraModule[] {
  const out: LoraModule[] = [];
  const r = g.roles;
  const diffB = r.get('diff_b');
  if (diffB) {
    out.push({ name: g.name, kind: 'full', factors: { diff: diffB }, alpha: null, rank: null, scale: 1, shape: diffB.shape.slice(), bias: true });
    checkReadable(diffB, g.name, invalid);
  }
  const kinds = [...g.kinds].filter((k) => !(k === 'full' && !r.has('diff'))).sort();
  if (kinds.length > 1) throw invalid(`mixes the factors of ${kinds.join(' and ')} modules`, g.name);
  if (kinds.length === 0) {
    if (!diffB) note(`has ${[...r.keys()].join(', ')} but no factors; left out`, g.name);
    return out;
  }
  const kind = kinds[0] as DeltaKind;
  const factors: Partial<Record<FactorRole, TensorRef>> = {};
  const allowed = kind === 'lora' ? LORA_ROLES : kind === 'loha' ? LOHA_ROLES : kind === 'lokr' ? LOKR_ROLES : (['diff'] as FactorRole[]);
  for (const [role, ref] of r) {
    if (role === 'alpha' || role === 'dora_scale' || role === 'diff_b') continue;
    if (!allowed.includes(role as FactorRole)) throw invalid(`a ${kind} module cannot have a ${role} factor (${ref.name})`, g.name);
    checkReadable(ref, g.name, invalid);
    factors[role as FactorRole] = ref;
  }
  const geometry = kind === 'lora' ? loraGeometry(factors, g.name, invalid) : kind === 'loha' ? lohaGeometry(factors, g.name, invalid) : kind === 'lokr' ? lokrGeometry(factors, g.name, invalid) : { shape: factors.diff!.shape.slice(), rank: null };
  if (kind === 'full' && geometry.shape.length < 1) throw invalid('diff is a scalar', g.name);

  let alpha: number | null = null;
  const alphaRef = r.get('alpha');
  if (alphaRef) {
    if (alphaRef.numel !== 1 || alphaRef.shape.length > 1) throw invalid(`alpha must be a single number, but ${alphaRef.name} has shape [${alphaRef.shape.join(', ')}]`, g.name);
    checkReadable(alphaRef, g.name, invalid);
    alpha = readF64(files, alphaRef)[0]!;
    if (!Number.isFinite(alpha)) throw invalid(`alpha is ${alpha}`, g.name);
  }
  let scale = 1;
  if (kind !== 'full' && alpha !== null && geometry.rank !== null) {
    if (alpha === 0) note('alpha is 0, read as alpha = rank (scale 1), as kohya does; ComfyUI applies such a module as no change', g.name);
    else scale = alpha / geometry.rank;
  } else if (kind === 'full' && alpha !== null) {
    note('a full-difference module has an alpha; it is ignored (the difference is stored as it applies)', g.name);
  }
  const module: LoraModule = { name: g.name, kind, factors, alpha, rank: geometry.rank, scale, shape: geometry.shape };
  const dora = r.get('dora_scale');
  if (dora) {
    checkReadable(dora, g.name, invalid);
    if (kind === 'full') throw invalid('a full-difference module cannot have a dora_scale', g.name);
    const rows = geometry.shape[0]!;
    const channels = geometry.shape[1]!;
    if (!doraAxis(dora, rows, channels)) throw invalid(`dora_scale has shape [${dora.shape.join(', ')}], which is neither per output channel (${rows}) nor per input channel (${channels})`, g.name);
    module.doraScale = dora;
  }
  out.push(module);
  return out;
}

/** Which way a DoRA magnitude vector normalises: per output channel ([out, 1, ...]) or per input channel ([1, in, ...]). */
export function doraAxis(dora: TensorRef, outChannels: number, inChannels: number): 'out' | 'in' | undefined {
  if (dora.shape[0] === outChannels && dora.numel === outChannels) return 'out';
  if ((dora.shape[0] === 1 || dora.shape.length === 1) && dora.numel === inChannels) return 'in';
  return undefined;
}

function checkReadable(ref: TensorRef, module: string, invalid: Invalid): void {
  if (!readableAsF64(ref)) throw invalid(`${ref.name} is ${ref.dtype}, which cannot be read as numbers`, module);
}

/** [rows, elements per row] of a weight shape: [out, in*kh*kw]. */
export function flat2(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  const rows = shape[0]!;
  let rest = 1;
  for (let d = 1; d < shape.length; d++) rest *= shape[d]!;
  return [rows, rest];
}

interface Geometry {
  shape: number[];
  rank: number | null;
}

function need(f: Partial<Record<FactorRole, TensorRef>>, role: FactorRole, module: string, invalid: Invalid): TensorRef {
  const t = f[role];
  if (!t) throw invalid(`has ${Object.keys(f).join(', ')} but no ${role}`, module);
  return t;
}

function dims(t: TensorRef, allowed: number[], what: string, module: string, invalid: Invalid): number[] {
  if (!allowed.includes(t.shape.length)) throw invalid(`${what} (${t.name}) has shape [${t.shape.join(', ')}]; expected ${allowed.join(' or ')} dimensions`, module);
  if (t.shape.some((d) => d === 0)) throw invalid(`${what} (${t.name}) is empty`, module);
  return t.shape;
}

/** kohya/PEFT LoRA: down [r, in(, kh, kw)], up [out, r(, 1, 1)], optional Tucker mid [r, r, kh, kw] with a 1x1 down. */
function loraGeometry(f: Partial<Record<FactorRole, TensorRef>>, m: string, invalid: Invalid): Geometry {
  const down = dims(need(f, 'down', m, invalid), [2, 4], 'down', m, invalid);
  const up = dims(need(f, 'up', m, invalid), [2, 4], 'up', m, invalid);
  const r = down[0]!;
  if (up[1] !== r) throw invalid(`rank mismatch: up has ${up[1]} columns but down has ${r} rows`, m);
  if (up.length === 4 && (up[2] !== 1 || up[3] !== 1)) throw invalid(`up has a ${up[2]}x${up[3]} kernel; only 1x1 up convolutions are a product of factors`, m);
  if (f.mid) {
    const mid = dims(f.mid, [4], 'mid', m, invalid);
    if (mid[0] !== r || mid[1] !== r) throw invalid(`mid has shape [${mid.join(', ')}] but the rank is ${r}`, m);
    if (down.length === 4 && (down[2] !== 1 || down[3] !== 1)) throw invalid('with a mid factor, down must be 1x1', m);
    return { shape: [up[0]!, down[1]!, mid[2]!, mid[3]!], rank: r };
  }
  return { shape: down.length === 4 ? [up[0]!, down[1]!, down[2]!, down[3]!] : [up[0]!, down[1]!], rank: r };
}

/** LyCORIS LoHa: (w1a w1b) * (w2a w2b), or with Tucker cores t1, t2 for a convolution. */
function lohaGeometry(f: Partial<Record<FactorRole, TensorRef>>, m: string, invalid: Invalid): Geometry {
  const w1a = dims(need(f, 'w1a', m, invalid), [2], 'hada_w1_a', m, invalid);
  const w1b = dims(need(f, 'w1b', m, invalid), [2], 'hada_w1_b', m, invalid);
  const w2a = dims(need(f, 'w2a', m, invalid), [2], 'hada_w2_a', m, invalid);
  const w2b = dims(need(f, 'w2b', m, invalid), [2], 'hada_w2_b', m, invalid);
  if (f.t1 || f.t2) {
    const t1 = dims(need(f, 't1', m, invalid), [4], 'hada_t1', m, invalid);
    const t2 = dims(need(f, 't2', m, invalid), [4], 'hada_t2', m, invalid);
    for (const [t, a, b, k] of [[t1, w1a, w1b, '1'], [t2, w2a, w2b, '2']] as const) {
      if (t[0] !== t[1] || a[0] !== t[0] || b[0] !== t[0]) throw invalid(`rank mismatch in the Tucker factors of w${k}: t${k} [${t.join(', ')}], w${k}_a [${a.join(', ')}], w${k}_b [${b.join(', ')}]`, m);
    }
    if (w1a[1] !== w2a[1] || w1b[1] !== w2b[1] || t1[2] !== t2[2] || t1[3] !== t2[3]) throw invalid('the two Hadamard factors have different shapes', m);
    return { shape: [w1a[1]!, w1b[1]!, t1[2]!, t1[3]!], rank: w1b[0]! };
  }
  if (w1a[1] !== w1b[0]) throw invalid(`rank mismatch: hada_w1_a has ${w1a[1]} columns but hada_w1_b has ${w1b[0]} rows`, m);
  if (w2a[1] !== w2b[0]) throw invalid(`rank mismatch: hada_w2_a has ${w2a[1]} columns but hada_w2_b has ${w2b[0]} rows`, m);
  if (w1a[0] !== w2a[0] || w1b[1] !== w2b[1]) throw invalid(`the two Hadamard factors have different shapes ([${w1a[0]}, ${w1b[1]}] and [${w2a[0]}, ${w2b[1]}])`, m);
  return { shape: [w1a[0]!, w1b[1]!], rank: w1b[0]! };
}

/** LyCORIS LoKr: kron(w1, w2), each side whole or as a product (w2 also with a Tucker core for a convolution). */
function lokrGeometry(f: Partial<Record<FactorRole, TensorRef>>, m: string, invalid: Invalid): Geometry {
  let dim: number | null = null;
  let a: number;
  let b: number;
  if (f.w1) {
    if (f.w1a || f.w1b) throw invalid('has both lokr_w1 and lokr_w1_a/b', m);
    [a, b] = dims(f.w1, [2], 'lokr_w1', m, invalid) as [number, number];
  } else {
    const w1a = dims(need(f, 'w1a', m, invalid), [2], 'lokr_w1_a', m, invalid);
    const w1b = dims(need(f, 'w1b', m, invalid), [2], 'lokr_w1_b', m, invalid);
    if (w1a[1] !== w1b[0]) throw invalid(`rank mismatch: lokr_w1_a has ${w1a[1]} columns but lokr_w1_b has ${w1b[0]} rows`, m);
    [a, b, dim] = [w1a[0]!, w1b[1]!, w1b[0]!];
  }
  let w2shape: number[];
  if (f.w2) {
    if (f.w2a || f.w2b || f.t2) throw invalid('has both lokr_w2 and lokr_w2_a/b', m);
    w2shape = dims(f.w2, [2, 4], 'lokr_w2', m, invalid);
  } else {
    const w2a = dims(need(f, 'w2a', m, invalid), [2], 'lokr_w2_a', m, invalid);
    const w2b = dims(need(f, 'w2b', m, invalid), [2], 'lokr_w2_b', m, invalid);
    if (f.t2) {
      const t2 = dims(f.t2, [4], 'lokr_t2', m, invalid);
      if (t2[0] !== t2[1] || w2a[0] !== t2[0] || w2b[0] !== t2[0]) throw invalid(`rank mismatch in the Tucker factors: lokr_t2 [${t2.join(', ')}], lokr_w2_a [${w2a.join(', ')}], lokr_w2_b [${w2b.join(', ')}]`, m);
      w2shape = [w2a[1]!, w2b[1]!, t2[2]!, t2[3]!];
    } else {
      if (w2a[1] !== w2b[0]) throw invalid(`rank mismatch: lokr_w2_a has ${w2a[1]} columns but lokr_w2_b has ${w2b[0]} rows`, m);
      w2shape = [w2a[0]!, w2b[1]!];
    }
    dim = w2b[0]!;
  }
  const shape = [a * w2shape[0]!, b * w2shape[1]!, ...w2shape.slice(2)];
  return { shape, rank: dim };
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

function resolveTargets(located: { module: LoraModule; index: number; loc: ModuleLocation }[], family: LoraFamily, space: KeySpace, note: Note): LoraTarget[] {
  const byKey = new Map<string, LoraTarget>();
  for (const { module, index, loc } of located) {
    let spec = targetOf(family, loc);
    if (typeof spec === 'string') {
      note(`${spec}; left out`, module.name);
      continue;
    }
    if (module.bias) spec = { ...spec, key: spec.key.replace(/\.weight$/, '.bias') };
    if (module.doraScale && !space.base) {
      note('is a DoRA module: its change depends on the base weights, so it is compared only against a base model; left out', module.name);
      continue;
    }
    const placed = place(module, spec, space);
    if (typeof placed === 'string') {
      note(`${placed}; left out`, module.name);
      continue;
    }
    const existing = byKey.get(placed.key);
    if (existing) {
      if (existing.shape.join(',') !== placed.shape.join(',') && flat2(existing.shape).join(',') !== flat2(placed.shape).join(',')) {
        note(`changes ${placed.key} as a [${placed.shape.join(', ')}] weight, but another module of the file changes it as [${existing.shape.join(', ')}]; left out`, module.name);
        continue;
      }
      const overlaps = placed.contributions.some((c) => existing.contributions.some((e) => rangesOverlap(c.rows, e.rows)));
      if (overlaps) note(`changes rows of ${placed.key} that another module of the file also changes; both changes are added`, module.name);
      existing.contributions.push(...placed.contributions.map((c) => ({ ...c, module: index })));
      if (placed.base) existing.base = placed.base;
    } else {
      byKey.set(placed.key, { ...placed, contributions: placed.contributions.map((c) => ({ ...c, module: index })) });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function rangesOverlap(a: [number, number] | undefined, b: [number, number] | undefined): boolean {
  if (!a || !b) return true;
  return a[0] < b[1] && b[0] < a[1];
}

/** The module's contribution(s) to the target weight, checked against the base's shape when there is a base. */
function place(module: LoraModule, spec: TargetSpec, space: KeySpace): LoraTarget | string {
  const found = space.lookup(spec.key);
  if (!found) return `the base has no ${spec.key}`;
  const [out, cols] = flat2(module.shape);
  const baseShape = found.shape;
  let shape: number[];
  let contributions: LoraContribution[];
  const swap = spec.swapHalves || (spec.swapIfHalves && !module.bias && out === 2 * cols);
  if (spec.part) {
    const total = spec.part.sizes.reduce((s, x) => s + x, 0);
    // A weight's blocks are multiples of its input width; a bias has none, so the unit comes from the base (or from the block itself).
    const unit = module.bias ? (baseShape ? baseShape[0]! / total : out / spec.part.sizes[spec.part.index]!) : cols;
    const start = spec.part.sizes.slice(0, spec.part.index).reduce((s, x) => s + x, 0) * unit;
    const rows = spec.part.sizes[spec.part.index]! * unit;
    if (!Number.isInteger(unit) || rows !== out) return `is ${out} x ${cols}, which is not block ${spec.part.index} of ${spec.key} (blocks of ${spec.part.sizes.join(', ')} x ${unit} rows)`;
    shape = module.bias ? [total * unit] : [total * unit, ...module.shape.slice(1)];
    contributions = [{ module: -1, rows: [start, start + rows] }];
  } else if (swap) {
    if (out % 2 !== 0) return `has ${out} rows, which cannot be two swapped halves of ${spec.key}`;
    const h = out / 2;
    shape = module.shape.slice();
    contributions = [
      { module: -1, srcRows: [0, h], rows: [h, out] },
      { module: -1, srcRows: [h, out], rows: [0, h] },
    ];
  } else {
    shape = module.shape.slice();
    contributions = [{ module: -1 }];
  }
  if (baseShape) {
    const same = flat2(baseShape).join(',') === flat2(shape).join(',') && (baseShape.length < 2) === (shape.length < 2);
    if (!same) return `makes a [${shape.join(', ')}] change, but ${found.key} in the base is [${baseShape.join(', ')}]`;
    shape = baseShape.slice();
  }
  const target: LoraTarget = { key: found.key, component: componentOfStandardKey(spec.key, space.family), shape, contributions };
  if (module.doraScale && found.ref) target.base = found.ref;
  return target;
}
