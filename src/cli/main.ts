import { resolve } from 'node:path';
import { findModelIndex, openCheckpoint, loadModel, pairLayers, pairMetrics, readResult, toModeldiffError, TOOL_VERSION } from '../compute';
import { intFlag, parseArgs, stringFlag } from './args';
import { csvField, layersCsv, layersTable } from './layersTable';
import { COMPARE_BOOLEANS, COMPARE_VALUED, compareWithProgress } from './compareRun';
import { formatBytes, formatCount, formatNumber, summary } from './format';
import { writeFileSync } from 'node:fs';
import { analyzeCommand, breakdownCommand, familyCommand, hashesCommand, healthCommand, lineageCommand, recipeCommand, reportCommand, chartsCommand } from './commands';

export const EXIT = { ok: 0, fileErrors: 1, usage: 2, failure: 3, cancelled: 130 } as const;

const USAGE = `modeldiff ${TOOL_VERSION}: what really differs between Stable Diffusion checkpoints

Usage:
  modeldiff compare <folder | files...> --out <dir> [options]
      Compares every pair of models; writes result.json, model_map_v2.json and layers.bin to <dir>
      and prints a summary. Options:
        --components unet,te,vae   compare only these components (unet te te0 te1 vae ema other)
        --no-ema                   leave the EMA copy out
        --workers N                worker threads (default: one per core, at most 4)
        --memory MiB               memory budget for the engine's buffers (default 256)
        --hashes                   also SHA-256/AutoV2, legacy, AutoV3 and per-component hashes, computed during
                                   the run and cached by (path, size, mtime) (--cache file | --no-cache)
        --extract-weights          also read .ckpt/.pt files that pickle Lightning callbacks (ModelCheckpoint), numpy
                                   scalars or argparse.Namespace beside the weights: those are kept as inert data and
                                   left out, never run (also for pair, inspect, report and charts)
        --json                     print result.json to stdout instead of the summary
        --all-pairs                the summary lists every pair (past 45 pairs it shows the bit-identical
                                   groups and the 30 closest pairs)
        --quiet                    no summary
  modeldiff layers <dir> <modelA> <modelB> [--csv [file]] [--component c] [--sort l2|name] [--top N]
      The per-layer table of one pair from a compare output (models by file name or index).
  modeldiff pair <modelA> <modelB> [--components c,...] [--csv file] [--extract-weights]
      Drill-down of one pair by a direct pass: L2, L1, changed-element count (L0), max |difference|
      per component, and per key in the CSV.
  modeldiff inspect <file> [--json] [--extract-weights]
      Architecture, components, dtypes and metadata of one model, from its header.
  modeldiff breakdown <dir> <A> <B> [--by block|type|vae|te] [--time-embed BASE|IN00] [--csv [file]] [--matrix]: distance per block/layer type/VAE part/TE layer
  modeldiff recipe <dir> <model> [--parents A,B,...] [--count N] [--time-embed BASE|IN00] [--json]: per-block merge weights from the parents
  modeldiff hashes <folder | files...> [--components] [--extract-weights] [--cache file | --no-cache] [--json]: SHA-256/AutoV2, legacy, AutoV3, component hashes
  modeldiff health <dir> [--json]: position_ids, NaN/Inf, all-zero tensors, missing components, unexpected keys, wasted space
  modeldiff family <dir> [--component unet|...|all] [--json]: dendrogram and minimum spanning tree per component
  modeldiff lineage <dir> [--hashes] [--cache file | --no-cache] [--json]: declared parents (metadata) beside the nearest models
  modeldiff analyze <dir> [--time-embed BASE|IN00] [--hashes] [--cache file | --no-cache] [--quiet]: writes analysis.json
  modeldiff report <dir | folder | files...> [--out report.html] [--results dir] [--layers-budget MiB] [--hashes] [--no-analysis]
      One self-contained HTML file (no network; opens in any browser): heatmaps, graph, breakdowns, recipes, hashes,
      lineage, health, family views and per-layer tables. From a compare output, or compares the models first
      (into --results, default ./modeldiff-results). Default output: <dir>/report.html or ./modeldiff-report.html.
  modeldiff charts <dir | folder | files...> [--out dir] [--component c,...] [--metric l2|cosine] [--pair A,B] [--model M]
      The charts as SVG files (for papers and model cards): distance matrices, block/layer-type/VAE/TE breakdowns of a
      pair (default: the closest pair of different UNets) and of every pair, the merge estimate of a model (default:
      the best explained), dendrograms and spanning trees. Default output: <dir>/charts.

Exit codes: 0 all files compared, 1 some files could not be read (see errors), 2 usage, 3 failure, 130 cancelled.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'compare':
        return await compareCommand(rest);
      case 'layers':
        return layersCommand(rest);
      case 'inspect':
        return await inspectCommand(rest);
      case 'pair':
        return await pairCommand(rest);
      case 'breakdown': return breakdownCommand(rest);
      case 'recipe': return recipeCommand(rest);
      case 'hashes': return await hashesCommand(rest);
      case 'health': return await healthCommand(rest);
      case 'family': return familyCommand(rest);
      case 'lineage': return await lineageCommand(rest);
      case 'analyze': return await analyzeCommand(rest);
      case 'report': return await reportCommand(rest);
      case 'charts': return await chartsCommand(rest);
      case '--version':
        process.stdout.write(`${TOOL_VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        process.stderr.write(`modeldiff: unknown command "${command}"\n\n${USAGE}\n`);
        return EXIT.usage;
    }
  } catch (e) {
    const err = toModeldiffError(e);
    process.stderr.write(`modeldiff: ${err.file ? err.file + ': ' : ''}${err.message}\n`);
    if (err.code === 'USAGE') return EXIT.usage;
    if (err.code === 'CANCELLED') return EXIT.cancelled;
    return EXIT.failure;
  }
}

async function compareCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [...COMPARE_BOOLEANS, 'json', 'quiet', 'all-pairs'], ['out', ...COMPARE_VALUED]);
  const out = stringFlag(p, 'out');
  if (!p.positional.length || !out) {
    process.stderr.write('usage: modeldiff compare <folder | files...> --out <dir>\n');
    return EXIT.usage;
  }
  const result = await compareWithProgress(p.positional, out, p);
  if (p.flags.has('json')) process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  else if (!p.flags.has('quiet')) process.stdout.write(summary(result, { allPairs: p.flags.has('all-pairs') }) + `\n\nWritten to ${resolve(out)}\n`);
  if (result.models.length < 2) process.stderr.write(`modeldiff: need at least 2 readable models to compare, found ${result.models.length}\n`);
  return result.errors.length ? EXIT.fileErrors : EXIT.ok;
}

function layersCommand(argv: string[]): number {
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
    const text = layersCsv(rows);
    if (csvFile === '-') process.stdout.write(text);
    else writeFileSync(csvFile, text);
  } else {
    process.stdout.write(layersTable(rows, result.models[ia]!.file, result.models[ib]!.file) + '\n');
  }
  return EXIT.ok;
}

async function inspectCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['json', 'extract-weights'], []);
  const [file] = p.positional;
  if (!file) {
    process.stderr.write('usage: modeldiff inspect <file>\n');
    return EXIT.usage;
  }
  const model = loadModel(await openCheckpoint(resolve(file), undefined, { extractWeights: p.flags.has('extract-weights') }), 0);
  const info = model.info;
  if (p.flags.has('json')) {
    const tensors = [...model.tensors].map(([key, t]) => ({ key, name: t.ref.name, component: t.component, dtype: t.ref.dtype, shape: t.ref.shape }));
    process.stdout.write(JSON.stringify({ ...info, tensors }, null, 1) + '\n');
    return EXIT.ok;
  }
  const lines = [`${info.file}: ${info.archDetail}`, `  format ${info.format}, ${formatBytes(info.sizeBytes)}, ${info.tensorCount} tensors, ${formatCount(info.paramCount)} parameters`];
  for (const [c, s] of Object.entries(info.components)) {
    lines.push(`  ${c.padEnd(6)} ${String(s.tensors).padStart(5)} tensors ${formatCount(s.params).padStart(9)} params  ${Object.entries(s.dtypes).map(([d, n]) => `${d}x${n}`).join(' ')}`);
  }
  for (const note of info.notes) lines.push(`  note: ${note}`);
  const meta = Object.entries(info.metadata);
  if (meta.length) {
    lines.push('  metadata:');
    for (const [k, v] of meta) lines.push(`    ${k}: ${v.length > 200 ? v.slice(0, 200) + '…' : v}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}

async function pairCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['no-ema', 'extract-weights'], ['components', 'csv']);
  const [a, b] = p.positional;
  if (!a || !b) {
    process.stderr.write('usage: modeldiff pair <modelA> <modelB> [--components c,...] [--csv file]\n');
    return EXIT.usage;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await pairMetrics(resolve(a), resolve(b), {
      components: stringFlag(p, 'components')?.split(',').map((s) => s.trim()).filter(Boolean) ?? null,
      includeEma: !p.flags.has('no-ema'),
      signal: controller.signal,
      extractWeights: p.flags.has('extract-weights'),
    });
    const lines = [`${a}  vs  ${b}`, `${'component'.padEnd(9)} ${'L2'.padStart(12)} ${'L1'.padStart(12)} ${'changed'.padStart(14)} ${'max |diff|'.padStart(12)} ${'cosine'.padStart(12)}`];
    for (const [c, m] of Object.entries(r.components)) {
      const changed = `${m.l0}/${m.elements}`;
      lines.push(`${c.padEnd(9)} ${formatNumber(m.l2).padStart(12)} ${formatNumber(m.l1).padStart(12)} ${changed.padStart(14)} ${formatNumber(m.max_abs).padStart(12)} ${(m.cosine === null ? '—' : m.cosine.toFixed(8)).padStart(12)}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    const csv = stringFlag(p, 'csv');
    if (csv) {
      const rows = ['key,component,elements,l2,l1,l0,max_abs'];
      for (const k of r.keys) rows.push([csvField(k.key), csvField(k.component), k.elements, Math.sqrt(k.l2sq), k.l1, k.l0, k.maxAbs].join(','));
      writeFileSync(csv, rows.join('\n') + '\n');
    }
    return EXIT.ok;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
