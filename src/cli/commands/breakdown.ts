import { breakdown, breakdownMatrix, parseTimeEmbed, SCHEME_NAMES, type PairBreakdown } from '../../compute';
import { parseArgs, stringFlag } from '../args';
import { toCsv } from '../../shared/csv';
import { bar, choice, json, loneFlagToDash, lpad, modelIndex, output, pad, source, usage } from './common';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';

const LINE = 'modeldiff breakdown <dir> <modelA> <modelB> [--by block|type|vae|te] [--time-embed BASE|IN00] [--components] [--csv [file]] [--json]\n' + '       modeldiff breakdown <dir> --matrix [--by ...] [--time-embed ...] [--csv [file]] [--json]';

export function breakdownText(bd: PairBreakdown): string {
  const w = Math.max(5, ...bd.groups.map((g) => g.group.length));
  const max = Math.max(0, ...bd.groups.map((g) => g.l2 ?? 0));
  const lines = [`${bd.fileA}  vs  ${bd.fileB}`, `by ${bd.scheme}: ${bd.description}`, '', `${pad('group', w)}  ${lpad('L2', 12)}  ${lpad('share', 6)}  ${lpad('changed', 11)}`];
  for (const g of bd.groups) {
    const share = g.share === null ? '' : `${(g.share * 100).toFixed(1)}%`;
    lines.push(`${pad(g.group, w)}  ${lpad(distanceText(g.l2), 12)}  ${lpad(share, 6)}  ${lpad(`${g.changedKeys}/${g.keys}`, 11)}  ${bar(max > 0 && g.l2 !== null ? g.l2 / max : null)}`);
  }
  lines.push(`${pad('total', w)}  ${lpad(distanceText(bd.total.l2), 12)}  ${lpad('', 6)}  ${lpad(`${bd.total.changedKeys}/${bd.total.keys}`, 11)}`);
  return lines.map((l) => l.trimEnd()).join('\n');
}

export function breakdownCsv(bd: PairBreakdown): string {
  return toCsv(['group', 'l2', 'share', 'keys', 'changed_keys'], bd.groups.map((g) => [g.group, g.l2, g.share, g.keys, g.changedKeys]));
}

export function breakdownCommand(argv: string[]): number {
  const p = parseArgs(loneFlagToDash(argv, '--csv'), ['matrix', 'json', 'components'], ['by', 'time-embed', 'csv']);
  const scheme = choice(p, 'by', SCHEME_NAMES, 'block');
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const opts = { scheme, otherComponents: p.flags.has('components'), ...(timeEmbed ? { timeEmbed } : {}) };
  const csv = stringFlag(p, 'csv');
  const [dir, a, b] = p.positional;
  if (p.flags.has('matrix')) {
    if (!dir) return usage(LINE);
    const src = source(dir);
    const m = breakdownMatrix(src, opts);
    if (p.flags.has('json')) json(m);
    if (csv) {
      const files = src.result.models.map((x) => x.file);
      output(csv, toCsv(['group', ...m.pairs.map((q) => `${files[q.a]} vs ${files[q.b]}`)], m.groups.map((g, gi) => [g, ...m.l2[gi]!])));
    }
    if (!p.flags.has('json') && !csv) {
      const files = src.result.models.map((x) => x.file);
      const lines = [`by ${scheme}: ${m.description}`];
      m.pairs.forEach((q, pi) => {
        const top = m.groups.map((g, gi) => ({ g, v: m.l2[gi]![pi] ?? null })).filter((x) => x.v !== null && x.v > 0).sort((x, y) => y.v! - x.v!).slice(0, 5);
        lines.push(`${files[q.a]} vs ${files[q.b]}: ${top.length ? top.map((x) => `${x.g} ${distanceText(x.v)}`).join(', ') : 'no differences'}`);
      });
      process.stdout.write(lines.join('\n') + '\n');
    }
    return EXIT.ok;
  }
  if (!dir || !a || !b) return usage(LINE);
  const src = source(dir);
  const bd = breakdown(src, modelIndex(src, a), modelIndex(src, b), opts);
  if (p.flags.has('json')) json(bd);
  if (csv) output(csv, breakdownCsv(bd));
  if (!p.flags.has('json') && csv !== '-') process.stdout.write(breakdownText(bd) + '\n');
  return EXIT.ok;
}
