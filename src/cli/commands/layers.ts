/** `modeldiff layers`: the per-layer table of one pair from a compare output. */
import { ModeldiffError, pairLayers, type LayerRow } from '../../compute';
import { toCsv } from '../../shared/csv';
import { choiceFlag, intFlag, parseCommand, stringFlag, type CommandSpec } from '../args';
import { EXIT } from '../exitCodes';
import { distanceText } from '../summary';
import { shown } from '../terminal';
import { checkOutput, modelIndex, modelNames, output, printLines, source } from './common';

export const layersSpec: CommandSpec = {
  name: 'layers',
  brief: 'the per-layer table of one pair of a compare output',
  usage: ['<dir> <modelA> <modelB> [options]'],
  summary: 'The per-layer table (L2 and cosine of every key) of one pair, from a compare output folder.',
  description: 'Models are named by file name, stem, the end of their path, or index (as the summary lists them).',
  positionals: { min: 3, max: 3 },
  options: {
    csv: { type: 'string', arg: 'file', optionalValue: true, help: 'write CSV instead of the table: to <file>, or to standard output when\n--csv stands alone or is given "-"' },
    component: { type: 'string', short: 'c', arg: 'c', help: 'only the keys of this component (unet, te, vae...: those in the result)' },
    sort: { type: 'string', short: 's', arg: 'l2|name', help: 'order: by L2, largest first, or by key name (default)' },
    top: { type: 'string', short: 'n', arg: 'N', help: 'only the first N rows (N >= 1)' },
  },
};

export function layersCommand(argv: string[]): number {
  const p = parseCommand(layersSpec, argv);
  if (!p) return EXIT.ok;
  const sort = choiceFlag(p, 'sort', ['name', 'l2'] as const, 'name');
  const top = intFlag(p, 'top', 1);
  const csvFile = checkOutput(p, 'csv');
  const [dir, a, b] = p.positional as [string, string, string];
  const src = source(dir);
  const component = stringFlag(p, 'component');
  if (component !== undefined && !src.result.components.includes(component)) {
    throw new ModeldiffError('USAGE', `--component: no component "${shown(component)}" in this result (it has ${src.result.components.join(', ')})`);
  }
  const ia = modelIndex(src, a);
  const ib = modelIndex(src, b);
  let rows = pairLayers(src.dir, src.result, ia, ib);
  if (component !== undefined) rows = rows.filter((r) => r.component === component);
  if (sort === 'l2') rows.sort((x, y) => (y.l2 ?? -1) - (x.l2 ?? -1));
  if (top !== undefined) rows = rows.slice(0, top);
  if (csvFile) output(csvFile, layersCsv(rows));
  else {
    const names = modelNames(src.result);
    printLines(layersTable(rows, names[ia]!, names[ib]!));
  }
  return EXIT.ok;
}

/** The table; `a` and `b` are the names as shown. */
export function layersTable(rows: LayerRow[], a: string, b: string): string {
  const keys = rows.map((r) => shown(r.key));
  const w = Math.min(90, Math.max(3, ...keys.map((k) => k.length)));
  const lines = [`${a}  vs  ${b}`, `${'key'.padEnd(w)}  ${'component'.padEnd(9)}  ${'L2'.padStart(12)}  ${'cosine'.padStart(12)}`];
  rows.forEach((r, i) => {
    const k = keys[i]!;
    const key = k.length > w ? '…' + k.slice(k.length - w + 1) : k.padEnd(w);
    lines.push(`${key}  ${shown(r.component).padEnd(9)}  ${distanceText(r.l2).padStart(12)}  ${(r.cosine === null ? '—' : r.cosine.toFixed(8)).padStart(12)}`);
  });
  return lines.join('\n');
}

/** CSV with the formula guard (tensor names are untrusted); empty cells where there is no value. */
export function layersCsv(rows: LayerRow[]): string {
  return toCsv(['key', 'component', 'l2', 'cosine'], rows.map((r) => [r.key, r.component, r.l2, r.cosine]));
}
