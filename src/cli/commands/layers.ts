/** `modeldiff layers`: the per-layer table of one pair from a compare output. */
import { resolve } from 'node:path';
import { findModelIndex, pairLayers, readResult, toModeldiffError, type LayerRow } from '../../compute';
import { toCsv } from '../../shared/csv';
import { intFlag, parseArgs, stringFlag } from '../args';
import { EXIT } from '../exitCodes';
import { output } from './common';
import { distanceText } from '../summary';

export function layersCommand(argv: string[]): number {
  // `--csv` may stand alone (CSV to stdout) or name a file.
  const next = argv[argv.indexOf('--csv') + 1];
  const csvAlone = argv.includes('--csv') && (next === undefined || next.startsWith('--'));
  const parsed = csvAlone ? parseArgs(argv.filter((a) => a !== '--csv'), [], ['component', 'sort', 'top']) : parseArgs(argv, [], ['csv', 'component', 'sort', 'top']);
  const [dir, a, b] = parsed.positional;
  if (!dir || !a || !b) {
    process.stderr.write('usage: modeldiff layers <dir> <modelA> <modelB> [--csv [file]] [--component c] [--sort l2|name] [--top N]\n');
    return EXIT.usage;
  }
  const result = readResult(resolve(dir));
  const ia = findModelIndex(result, a);
  const ib = findModelIndex(result, b);
  let rows = pairLayers(resolve(dir), result, ia, ib);
  const component = stringFlag(parsed, 'component');
  if (component) rows = rows.filter((r) => r.component === component);
  const sort = stringFlag(parsed, 'sort') ?? 'name';
  if (sort === 'l2') rows.sort((x, y) => (y.l2 ?? -1) - (x.l2 ?? -1));
  else if (sort !== 'name') throw toModeldiffError({ code: 'USAGE', message: '--sort is l2 or name' });
  const top = intFlag(parsed, 'top', 1);
  if (top !== undefined) rows = rows.slice(0, top);
  const csvFile = csvAlone ? '-' : stringFlag(parsed, 'csv');
  if (csvFile) {
    output(csvFile, layersCsv(rows));
  } else {
    process.stdout.write(layersTable(rows, result.models[ia]!.file, result.models[ib]!.file) + '\n');
  }
  return EXIT.ok;
}

export function layersTable(rows: LayerRow[], a: string, b: string): string {
  const w = Math.min(90, Math.max(3, ...rows.map((r) => r.key.length)));
  const lines = [`${a}  vs  ${b}`, `${'key'.padEnd(w)}  ${'component'.padEnd(9)}  ${'L2'.padStart(12)}  ${'cosine'.padStart(12)}`];
  for (const r of rows) {
    const key = r.key.length > w ? '…' + r.key.slice(r.key.length - w + 1) : r.key.padEnd(w);
    lines.push(`${key}  ${r.component.padEnd(9)}  ${distanceText(r.l2).padStart(12)}  ${(r.cosine === null ? '—' : r.cosine.toFixed(8)).padStart(12)}`);
  }
  return lines.join('\n');
}

/** The per-layer rows as CSV (src/shared/csv.ts); empty cells where there is no value. */
export function layersCsv(rows: LayerRow[]): string {
  return toCsv(['key', 'component', 'l2', 'cosine'], rows.map((r) => [r.key, r.component, r.l2, r.cosine]));
}
