import { familyView, familyViews, type FamilyView, ModeldiffError, type CompareResult } from '../../compute';
import { parseArgs, stringFlag } from '../args';
import { json, source, usage } from './common';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';

const LINE = 'modeldiff family <dir> [--component unet|te|vae|...|all] [--json]';

/** Files under a dendrogram node. */
function leaves(v: FamilyView, id: number): string[] {
  const n = v.dendrogram.nodes[id]!;
  return n.children ? n.children.flatMap((c) => leaves(v, c)) : [n.file!];
}

/** A text dendrogram: inner nodes show their merge height, leaves the model file; equal groups on one line. */
export function dendrogramText(v: FamilyView): string[] {
  const nodes = v.dendrogram.nodes;
  const lines: string[] = [];
  const walk = (id: number, prefix: string, last: boolean, top: boolean) => {
    const n = nodes[id]!;
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    if (n.children && n.height === 0) {
      lines.push(prefix + branch + `equal: ${leaves(v, id).join(', ')}`);
      return;
    }
    lines.push(prefix + branch + (n.children ? `┐ ${distanceText(n.height)}` : n.file!));
    if (!n.children) return;
    const next = prefix + (top ? '' : last ? '   ' : '│  ');
    // the taller subtree first, so the closest pairs end up together at the bottom
    const [a, b] = n.children;
    const kids = nodes[a]!.height >= nodes[b]!.height ? [a, b] : [b, a];
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const r of v.dendrogram.roots) walk(r, '', true, true);
  return lines;
}

export function familyText(result: CompareResult, views: readonly FamilyView[]): string {
  const files = result.models.map((m) => m.file);
  const out: string[] = [];
  for (const v of views) {
    out.push(`== ${v.component}: average-linkage dendrogram (heights = mean L2 between the merged groups)`);
    out.push(...dendrogramText(v));
    if (v.dendrogram.roots.length > 1) out.push(`(${v.dendrogram.roots.length} groups share no comparable pair)`);
    if (v.dendrogram.absent.length) out.push(`without ${v.component}: ${v.dendrogram.absent.map((i) => files[i]).join(', ')}`);
    // models joined by 0-length edges are one node of the tree
    const group = new Map<number, number>();
    const find = (x: number): number => (group.has(x) && group.get(x) !== x ? find(group.get(x)!) : x);
    for (const e of v.mst.edges) if (e.l2 === 0) group.set(Math.max(find(e.a), find(e.b)), Math.min(find(e.a), find(e.b)));
    const members = new Map<number, number[]>();
    for (const e of v.mst.edges) for (const x of [e.a, e.b]) if (!members.get(find(x))?.includes(x)) members.set(find(x), [...(members.get(find(x)) ?? []), x]);
    const label = (x: number) => {
      const n = members.get(find(x))?.length ?? 1;
      return files[find(x)]! + (n > 1 ? ` (+${n - 1} equal)` : '');
    };
    out.push('', `minimum spanning tree (suggested direction from the tree's median${v.mst.roots.length > 1 ? 's' : ''}: ${v.mst.roots.map(label).join(', ')})`);
    for (const e of v.mst.directed) if (e.l2 > 0) out.push(`  ${label(e.parent)} -> ${label(e.child)}  ${distanceText(e.l2)}`);
    for (const [rep, list] of members) if (list.length > 1) out.push(`  equal ${v.component}: ${[rep, ...list.filter((x) => x !== rep)].map((x) => files[x]).join(', ')}`);
    out.push('');
  }
  return out.join('\n');
}

export function familyCommand(argv: string[]): number {
  const p = parseArgs(argv, ['json'], ['component']);
  const [dir] = p.positional;
  if (!dir) return usage(LINE);
  const { result } = source(dir);
  const c = stringFlag(p, 'component') ?? (result.components.includes('unet') ? 'unet' : 'all');
  if (c !== 'all' && !result.components.includes(c)) throw new ModeldiffError('USAGE', `no component "${c}" in this result (${result.components.join(', ')})`);
  const views = c === 'all' ? familyViews(result) : [familyView(result, c)];
  if (p.flags.has('json')) json(views);
  else process.stdout.write(familyText(result, views));
  return EXIT.ok;
}
