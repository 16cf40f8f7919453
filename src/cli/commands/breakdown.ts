import { breakdown, breakdownMatrix, ModeldiffError, parseTimeEmbed, SCHEME_NAMES, type PairBreakdown } from '../../compute';
import { toCsv } from '../../shared/csv';
import { choiceFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { BLOCK_NAMES_OPTION, BLOCK_NAMINGS, JSON_OPTION, TIME_EMBED_OPTION } from '../options';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { bar, checkOutput, json, lpad, modelIndex, modelNames, OK, output, pad, printLines, source } from './common';

export const breakdownSpec: CommandSpec = {
  name: 'breakdown',
  brief: 'distance per merge block, layer type, VAE part or text encoder layer',
  usage: ['<dir> <modelA> <modelB> [options]', '<dir> --matrix [options]'],
  summary: 'Distance of one pair (or, with --matrix, of every pair) per merge block, layer type, VAE part or text encoder layer.',
  positionals: { min: 1, max: 3 },
  options: {
    by: { type: 'string', short: 'b', arg: SCHEME_NAMES.join('|'), help: 'the grouping (default block)' },
    'time-embed': TIME_EMBED_OPTION,
    'block-names': BLOCK_NAMES_OPTION,
    components: { type: 'boolean', help: 'block grouping: give the text encoders and the VAE a slot each' },
    matrix: { type: 'boolean', help: 'every pair of the result (the groups with most L2 per pair)' },
    csv: { type: 'string', arg: 'file', optionalValue: true, help: 'write CSV to <file> (alone or "-": to standard output)' },
    json: JSON_OPTION,
  },
};

export function breakdownText(bd: PairBreakdown, nameA = shown(bd.fileA), nameB = shown(bd.fileB)): string {
  const w = Math.max(5, ...bd.groups.map((g) => g.group.length));
  const max = Math.max(0, ...bd.groups.map((g) => g.l2 ?? 0));
  const lines = [`${nameA}  vs  ${nameB}`, `by ${bd.scheme}: ${bd.description}`, '', `${pad('group', w)}  ${lpad('L2', 12)}  ${lpad('share', 6)}  ${lpad('changed', 11)}`];
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
  const p = parseCommand(breakdownSpec, argv);
  if (!p) return EXIT.ok;
  const scheme = choiceFlag(p, 'by', SCHEME_NAMES, 'block');
  const timeEmbed = parseTimeEmbed(stringFlag(p, 'time-embed'));
  const blockNames = choiceFlag(p, 'block-names', BLOCK_NAMINGS, 'comfyui');
  const opts = { scheme, otherComponents: p.flags.has('components'), blockNames, ...(timeEmbed ? { timeEmbed } : {}) };
  const csv = checkOutput(p, 'csv');
  const matrix = p.flags.has('matrix');
  if (matrix && p.positional.length !== 1) throw new ModeldiffError('USAGE', `--matrix takes the folder only (every pair of it), not models: modeldiff breakdown ${breakdownSpec.usage[1]}`);
  if (!matrix && p.positional.length !== 3) throw new ModeldiffError('USAGE', `give the folder and two models (or --matrix): modeldiff breakdown ${breakdownSpec.usage[0]}`);
  const [dir, a, b] = p.positional as [string, string, string];
  const src = source(dir);
  const names = modelNames(src.result);
  if (matrix) {
    const m = breakdownMatrix(src, opts);
    const labels = src.result.models.map((x) => x.displayName ?? x.file);
    if (p.flags.has('json')) json(m);
    if (csv) output(csv, toCsv(['group', ...m.pairs.map((q) => `${labels[q.a]} vs ${labels[q.b]}`)], m.groups.map((g, gi) => [g, ...m.l2[gi]!])));
    if (!p.flags.has('json') && !csv) {
      const lines = [`by ${scheme}: ${m.description}`];
      m.pairs.forEach((q, pi) => {
        const top = m.groups.map((g, gi) => ({ g, v: m.l2[gi]![pi] ?? null })).filter((x) => x.v !== null && x.v > 0).sort((x, y) => y.v! - x.v!).slice(0, 5);
        lines.push(`${names[q.a]} vs ${names[q.b]}: ${top.length ? top.map((x) => `${x.g} ${distanceText(x.v)}`).join(', ') : 'no differences'}`);
      });
      printLines(lines);
    }
    return OK;
  }
  const bd = breakdown(src, modelIndex(src, a), modelIndex(src, b), opts);
  if (p.flags.has('json')) json(bd);
  if (csv) output(csv, breakdownCsv(bd));
  if (!p.flags.has('json') && csv !== '-') printLines(breakdownText(bd, names[bd.a], names[bd.b]));
  return OK;
}
