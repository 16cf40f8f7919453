import { modelLabel, type CompareResult, type ComponentDiff, type PairResult } from '../compute';
import { distinctPathSuffixes } from '../shared/displayNames';
import { formatBytes, formatCount, formatDuration, formatNumber } from '../shared/format';
import { UnionFind } from '../shared/unionFind';
import { shown } from './terminal';
import { FILE_ROLE_LABEL, notComparableText, type ModelInfo } from '../shared/result';

/** A distance in the CLI's tables: six significant digits (src/shared/format.ts), "—" when there is none. */
export function distanceText(x: number | null): string {
  return x === null ? '—' : formatNumber(x, 6);
}

export function describeComponent(c: ComponentDiff): string {
  switch (c.status) {
    case 'identical':
      return 'identical';
    case 'equal_values': {
      const why: string[] = [];
      if (c.dtype_diff) why.push(`${c.dtype_diff} dtypes differ`);
      if (c.only_a || c.only_b) why.push(`${c.only_a + c.only_b} keys unmatched`);
      if (c.mismatched) why.push(`${c.mismatched} shape mismatches`);
      return `equal values on ${c.shared} shared tensors${why.length ? ` (${why.join(', ')})` : ''}`;
    }
    case 'same_delta':
      return `same delta (L2 ${distanceText(c.l2)}, equal to float rounding) on ${c.shared} changed weights`;
    case 'changed': {
      const measured = c.shared - c.non_finite - (c.bytes_only ?? 0);
      const parts = [`L2 ${distanceText(c.l2)}${measured < c.shared ? ` over ${measured} measured tensors` : ''}`, `${c.changed}/${c.shared} tensors changed`];
      if (c.only_a || c.only_b) parts.push(`${c.only_a + c.only_b} keys unmatched`);
      if (c.mismatched) parts.push(`${c.mismatched} shape mismatches`);
      if (c.non_finite) parts.push(`${c.non_finite} with NaN/Inf`);
      if (c.bytes_only) parts.push(`${c.bytes_only} compared by bytes only (no arithmetic for their dtype)`);
      return parts.join(', ');
    }
    case 'only_in_a':
      return 'only in A';
    case 'only_in_b':
      return 'only in B';
    case 'not_comparable':
      if (c.reason) return notComparableText(c);
      return c.mismatched ? `not comparable (${c.mismatched} shape mismatches, no shared shape)` : 'not comparable';
  }
}

/** The architecture line, with the file's role when the line does not say it ("VAE only"). */
export function modelLine(m: Pick<ModelInfo, 'archDetail' | 'role'>): string {
  const role = m.role && m.role !== 'checkpoint' && m.role !== 'unknown' ? FILE_ROLE_LABEL[m.role] : undefined;
  return role && !m.archDetail.includes(role) ? `${m.archDetail}; ${role}` : m.archDetail;
}

/** Past this many pairs the summary shows identical groups and the closest pairs instead of every pair. */
export const SUMMARY_ALL_PAIRS_UP_TO = 45;
const CLOSEST_PAIRS = 30;

/** Groups of models whose `component` is bit-identical, each sorted, groups by their first model. */
export function identicalGroups(result: CompareResult, component: string): number[][] {
  const sets = new UnionFind(result.models.length);
  for (const p of result.pairs) if (p.components[component]?.status === 'identical') sets.union(p.a, p.b);
  return sets.groups().filter((g) => g.length > 1);
}

/** The files that failed, named as the models are: the end of the path that tells them from the others, escaped. */
export function errorNames(result: CompareResult): string[] {
  const all = distinctPathSuffixes([...result.models.map((m) => m.path), ...result.errors.map((e) => e.path)]);
  return all.slice(result.models.length).map(shown);
}

/**
 * The `k` pairs of least `distance` among those `kept`, in order (ties in pair order, as a stable sort gives them),
 * holding no more than k: a result's pairs may be made as they are read (499,500 of them at 1,000 models).
 */
function leastPairs(pairs: readonly PairResult[], kept: (p: PairResult) => boolean, distance: (p: PairResult) => number, k: number): PairResult[] {
  const out: PairResult[] = [];
  for (const p of pairs) {
    if (!kept(p)) continue;
    const d = distance(p);
    if (out.length === k && d >= distance(out[k - 1]!)) continue;
    let at = out.length;
    while (at > 0 && distance(out[at - 1]!) > d) at--;
    out.splice(at, 0, p);
    if (out.length > k) out.pop();
  }
  return out;
}

/**
 * Groups of LoRAs that make the same change to every weight (distance 0 to float rounding on every component),
 * whatever their bytes, format or factorisation.
 */
export function sameDeltaGroups(result: CompareResult): number[][] {
  const sets = new UnionFind(result.models.length);
  for (const p of result.pairs) {
    const cs = Object.values(p.components);
    if (cs.length && cs.every((c) => c.status === 'same_delta')) sets.union(p.a, p.b);
  }
  return sets.groups().filter((g) => g.length > 1);
}

export function summary(result: CompareResult, opts: { allPairs?: boolean } = {}): string {
  const lines: string[] = [];
  const names = result.models.map((m) => shown(modelLabel(m)));
  const n = result.models.length;
  const s = result.stats;
  lines.push(
    `modeldiff: ${n} models, ${result.pairs.length} pairs, ${formatBytes(s.bytesRead)} read in ${formatDuration(s.seconds)}` +
      (result.errors.length ? `, ${result.errors.length} file${result.errors.length > 1 ? 's' : ''} failed` : ''),
  );
  lines.push('', 'Models');
  const w = Math.max(...names.map((n) => n.length), 4);
  for (const m of result.models) {
    lines.push(`  [${m.index}] ${names[m.index]!.padEnd(w)}  ${shown(modelLine(m))}; ${formatCount(m.paramCount)} params; ${Object.keys(m.components).map(shown).join(' ')}`);
    if (m.hashes) {
      const h = m.hashes;
      const parts = [h.autov2 && `AutoV2 ${h.autov2}`, h.legacy && `legacy ${h.legacy}`, h.autov3 && `AutoV3 ${h.autov3.slice(0, 12).toUpperCase()}`].filter(Boolean);
      if (parts.length) lines.push(`      ${parts.join('  ')}`);
    }
    for (const note of m.notes) lines.push(`      note: ${shown(note)}`);
  }
  if (result.errors.length) {
    lines.push('', 'Errors');
    const failed = errorNames(result);
    result.errors.forEach((e, i) => lines.push(`  ${failed[i]}: ${shown(e.message)}`));
  }
  if (result.models.some((m) => m.lora)) {
    const groups = sameDeltaGroups(result);
    const name = (i: number) => `[${i}] ${names[i]}`;
    lines.push('', 'Same delta (LoRAs that change every weight alike, to float rounding, whatever their bytes)');
    lines.push(groups.length ? groups.map((g) => `  ${g.map(name).join(' = ')}`).join('\n') : '  none');
  }
  if (result.pairs.length && (opts.allPairs || result.pairs.length <= SUMMARY_ALL_PAIRS_UP_TO)) {
    lines.push('', 'Pairs');
    for (const p of result.pairs) lines.push(...pairLines(names, p));
  } else if (result.pairs.length) {
    const name = (i: number) => `[${i}] ${names[i]}`;
    lines.push('', 'Bit-identical components');
    for (const c of result.components) {
      const groups = identicalGroups(result, c);
      lines.push(`  ${shown(c).padEnd(6)} ${groups.length ? groups.map((g) => g.map(name).join(' = ')).join('; ') : 'none'}`);
    }
    const by = result.components.includes('unet') ? 'unet' : result.components[0]!;
    const l2 = (p: PairResult) => p.components[by]?.l2 ?? Infinity;
    const closest = leastPairs(result.pairs, (p) => p.components[by]?.status === 'changed' && l2(p) > 0, l2, CLOSEST_PAIRS);
    lines.push('', `The ${closest.length} closest pairs that differ in ${by} (L2; of ${result.pairs.length}; --all-pairs prints every pair, result.json holds them all)`);
    for (const p of closest) lines.push(...pairLines(names, p));
  }
  return lines.join('\n');
}

function pairLines(names: readonly string[], p: PairResult): string[] {
  const a = names[p.a]!;
  const b = names[p.b]!;
  const out = [`  ${a}  vs  ${b}`];
  const identical = Object.entries(p.components).filter(([, c]) => c.status === 'identical').map(([k]) => k);
  if (identical.length) out.push(`      identical: ${identical.map(shown).join(', ')}`);
  for (const [name, c] of Object.entries(p.components)) {
    if (c.status !== 'identical') out.push(`      ${shown(name).padEnd(6)} ${describeComponent(c)}`);
  }
  return out;
}
