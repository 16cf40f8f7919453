import { familyView, familyViews, type FamilyView, ModeldiffError, type CompareResult } from '../../compute';
import { parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { JSON_OPTION } from '../options';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { json, modelNames, OK, printLines, source } from './common';

export const familySpec: CommandSpec = {
  name: 'family',
  brief: 'dendrogram and minimum spanning tree per component',
  usage: ['<dir> [options]'],
  summary: 'An average-linkage dendrogram and a minimum spanning tree of the models, per component.',
  positionals: { min: 1, max: 1 },
  options: {
    component: { type: 'string', short: 'c', arg: 'c|all', help: 'the component (those in the result), or all (default unet, else all)' },
    json: JSON_OPTION,
  },
};

/** Files under a dendrogram node. */
function leaves(v: FamilyView, id: number, names?: readonly string[]): string[] {
  const n = v.dendrogram.nodes[id]!;
  return n.children ? n.children.flatMap((c) => leaves(v, c, names)) : [leafName(n, names)];
}

/** A leaf as shown: the model's display name (escaped). */
function leafName(n: FamilyView['dendrogram']['nodes'][number], names?: readonly string[]): string {
  return (n.model !== undefined ? names?.[n.model] : undefined) ?? shown(n.file ?? '?');
}

/**
 * A text dendrogram: inner nodes show their merge height, leaves the model file; groups merged at L2 0 on one line
 * (at distance 0, which is not bit-identical: `modeldiff pair` or the summary says which are).
 */
export function dendrogramText(v: FamilyView, names?: readonly string[]): string[] {
  const nodes = v.dendrogram.nodes;
  const lines: string[] = [];
  const walk = (id: number, prefix: string, last: boolean, top: boolean) => {
    const n = nodes[id]!;
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    if (n.children && n.height === 0) {
      lines.push(prefix + branch + `at L2 0: ${leaves(v, id, names).join(', ')}`);
      return;
    }
    lines.push(prefix + branch + (n.children ? `┐ ${distanceText(n.height)}` : leafName(n, names)));
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
  const files = modelNames(result);
  const out: string[] = [];
  for (const v of views) {
    out.push(`== ${v.component}: average-linkage dendrogram (heights = mean L2 between the merged groups)`);
    out.push(...dendrogramText(v, files));
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
      return files[find(x)]! + (n > 1 ? ` (+${n - 1} at L2 0)` : '');
    };
    out.push('', `minimum spanning tree (suggested direction from the tree's median${v.mst.roots.length > 1 ? 's' : ''}: ${v.mst.roots.map(label).join(', ')})`);
    for (const e of v.mst.directed) if (e.l2 > 0) out.push(`  ${label(e.parent)} -> ${label(e.child)}  ${distanceText(e.l2)}`);
    for (const [rep, list] of members) if (list.length > 1) out.push(`  ${v.component} at L2 0: ${[rep, ...list.filter((x) => x !== rep)].map((x) => files[x]).join(', ')}`);
    out.push('');
  }
  return out.join('\n');
}

export function familyCommand(argv: string[]): number {
  const p = parseCommand(familySpec, argv);
  if (!p) return EXIT.ok;
  const { result } = source(p.positional[0]!);
  const c = stringFlag(p, 'component') ?? (result.components.includes('unet') ? 'unet' : 'all');
  if (c !== 'all' && !result.components.includes(c)) throw new ModeldiffError('USAGE', `--component: no component "${shown(c)}" in this result (it has ${result.components.join(', ')}; or all)`);
  const views = c === 'all' ? familyViews(result) : [familyView(result, c)];
  if (p.flags.has('json')) json(views);
  else printLines(familyText(result, views).replace(/\n$/, ''));
  return OK;
}
