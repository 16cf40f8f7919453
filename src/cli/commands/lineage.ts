import { cachedModelHashes, HashCache, lineageReport, modelHashes, type DeclaredParent, type FileHashes, type LineageReport, type CompareResult } from '../../compute';
import { parseArgs } from '../args';
import { hashCachePath, json, source, usage } from './common';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';

const LINE = 'modeldiff lineage <dir> [--hashes] [--cache file | --no-cache] [--json]';

function parentText(p: DeclaredParent): string {
  const id = p.name ?? p.sha256?.slice(0, 10) ?? p.shortHash ?? p.legacyHash ?? '?';
  const m = p.match ? ` = ${p.match.file} (by ${p.match.by})` : ' (not in this folder)';
  return `${p.role} ${id}${m}`;
}

export function lineageText(result: CompareResult, rep: LineageReport): string {
  const files = result.models.map((m) => m.file);
  const lines: string[] = [];
  for (const m of rep.models) {
    const d = m.declared;
    lines.push(`${m.file}${d.title ? ` "${d.title}"` : ''}${d.architecture ? ` [${d.architecture}]` : ''}`);
    if (d.recipe) {
      const r = d.recipe;
      lines.push(`  declared merge (${r.tool}): ${r.method ?? 'method?'}${r.alpha !== null ? `, alpha ${r.alpha}` : ''}${r.beta !== null ? `, beta ${r.beta}` : ''}${r.impliedWeights ? ` -> weights ${r.impliedWeights.map((x) => x.toFixed(3)).join(' ')}` : ''}`);
    }
    for (const p of m.parents) lines.push(`    ${parentText(p)}`);
    if (d.ancestors.length) lines.push(`  ancestors: ${d.ancestors.map((a) => a.name ?? a.sha256?.slice(0, 10)).join(', ')}`);
    for (const s of d.selfHashes) if (s.matches !== null) lines.push(`  ${s.key} ${s.matches ? 'matches the file' : 'does NOT match the file'}`);
    if (m.nearest.length) lines.push(`  nearest by UNet L2: ${m.nearest.map((x) => `${x.file} ${distanceText(x.l2)}`).join(', ')}`);
    if (m.sameUnet.length) lines.push(`  same UNet as: ${m.sameUnet.map((i) => files[i]).join(', ')}`);
    if (m.parents.length) {
      if (m.confirmed.length) lines.push(`  declared parents among the nearest: ${m.confirmed.map((i) => files[i]).join(', ')}`);
      if (m.unconfirmed.length) lines.push(`  declared parents NOT among the nearest: ${m.unconfirmed.map((i) => files[i]).join(', ')}`);
    }
    if (m.estimate) lines.push(`  measured mix of ${m.estimateParents.map((i) => files[i]).join(' + ')}: weights ${m.estimate.weights.map((x) => x.toFixed(3)).join(' ')} (relative residual ${m.estimate.relResidual.toFixed(3)})`);
    for (const n of d.notes) lines.push(`  note: ${n}`);
    if (!d.keys.length) lines.push('  no lineage metadata');
  }
  if (!rep.hashesUsed) lines.push('', 'Declared parents were matched by file name only: run with --hashes (or a hash cache that knows the files) to match by hash.');
  return lines.join('\n');
}

export async function lineageCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, ['hashes', 'no-cache', 'json'], ['cache']);
  const [dir] = p.positional;
  if (!dir) return usage(LINE);
  const src = source(dir);
  const cachePath = hashCachePath(p);
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
  else process.stdout.write(lineageText(src.result, rep) + '\n');
  return EXIT.ok;
}
