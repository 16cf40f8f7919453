import { cachedModelHashes, HashCache, lineageReport, modelHashes, type DeclaredParent, type FileHashes, type LineageReport, type CompareResult } from '../../compute';
import { parseCommand, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { CACHE_OPTIONS, JSON_OPTION } from '../options';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { hashCachePath, json, modelNames, OK, printLines, source } from './common';

export const lineageSpec: CommandSpec = {
  name: 'lineage',
  brief: 'declared parents (metadata) beside the nearest models',
  usage: ['<dir> [options]'],
  summary: "Each model's declared parents (from its metadata) beside the models nearest to it.",
  positionals: { min: 1, max: 1 },
  options: {
    hashes: { type: 'boolean', help: 'hash the files (full reads, cached) to match declared parents by hash, not by name' },
    ...CACHE_OPTIONS,
    json: JSON_OPTION,
  },
};

function parentText(p: DeclaredParent, files: readonly string[]): string {
  const id = p.name ?? p.sha256?.slice(0, 10) ?? p.shortHash ?? p.legacyHash ?? '?';
  const m = p.match ? ` = ${files[p.match.model] ?? shown(p.match.file)} (by ${p.match.by})` : ' (not in this folder)';
  return `${shown(p.role)} ${shown(id)}${m}`;
}

export function lineageText(result: CompareResult, rep: LineageReport): string {
  const files = modelNames(result);
  const lines: string[] = [];
  for (const m of rep.models) {
    const d = m.declared;
    lines.push(`${files[m.model] ?? shown(m.file)}${d.title ? ` "${shown(d.title)}"` : ''}${d.architecture ? ` [${shown(d.architecture)}]` : ''}`);
    if (d.recipe) {
      const r = d.recipe;
      lines.push(`  declared merge (${shown(r.tool)}): ${shown(r.method ?? 'method?')}${r.alpha !== null ? `, alpha ${r.alpha}` : ''}${r.beta !== null ? `, beta ${r.beta}` : ''}${r.impliedWeights ? ` -> weights ${r.impliedWeights.map((x) => x.toFixed(3)).join(' ')}` : ''}`);
    }
    for (const p of m.parents) lines.push(`    ${parentText(p, files)}`);
    if (d.ancestors.length) lines.push(`  ancestors: ${d.ancestors.map((a) => shown(a.name ?? a.sha256?.slice(0, 10) ?? '?')).join(', ')}`);
    for (const s of d.selfHashes) if (s.matches !== null) lines.push(`  ${shown(s.key)} ${s.matches ? 'matches the file' : 'does NOT match the file'}`);
    if (m.nearest.length) lines.push(`  nearest by UNet L2: ${m.nearest.map((x) => `${files[x.model] ?? shown(x.file)} ${distanceText(x.l2)}`).join(', ')}`);
    if (m.sameUnet.length) lines.push(`  bit-identical UNet: ${m.sameUnet.map((i) => files[i]).join(', ')}`);
    if (m.equalUnet?.length) lines.push(`  equal UNet values, not bit-identical: ${m.equalUnet.map((i) => files[i]).join(', ')}`);
    if (m.parents.length) {
      if (m.confirmed.length) lines.push(`  declared parents among the nearest: ${m.confirmed.map((i) => files[i]).join(', ')}`);
      if (m.unconfirmed.length) lines.push(`  declared parents NOT among the nearest: ${m.unconfirmed.map((i) => files[i]).join(', ')}`);
    }
    if (m.estimate) lines.push(`  measured mix of ${m.estimateParents.map((i) => files[i]).join(' + ')}: weights ${m.estimate.weights.map((x) => x.toFixed(3)).join(' ')} (relative residual ${m.estimate.relResidual.toFixed(3)})`);
    for (const n of d.notes) lines.push(`  note: ${shown(n)}`);
    if (!d.keys.length) lines.push('  no lineage metadata');
  }
  if (!rep.hashesUsed) lines.push('', 'Declared parents were matched by file name only: run with --hashes (or a hash cache that knows the files) to match by hash.');
  return lines.join('\n');
}

export async function lineageCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseCommand(lineageSpec, argv);
  if (!p) return EXIT.ok;
  const cachePath = hashCachePath(p);
  const src = source(p.positional[0]!);
  const cache = cachePath === null ? null : new HashCache(cachePath);
  let hashes: (FileHashes | null)[] | null = null;
  if (p.flags.has('hashes')) {
    hashes = [];
    for (const m of src.result.models) hashes.push((await modelHashes(m.path, { signal, ...(cache ? { cache } : {}) })).hashes);
    cache?.save();
  } else if (cache) {
    const found = src.result.models.map((m) => cachedModelHashes(m.path, cache)?.hashes ?? null);
    if (found.some((h) => h !== null)) hashes = found;
  }
  const rep = lineageReport(src.result, { hashes });
  if (p.flags.has('json')) json(rep);
  else printLines(lineageText(src.result, rep));
  return OK;
}
