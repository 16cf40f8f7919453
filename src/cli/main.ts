import { toModeldiffError, TOOL_VERSION } from '../compute';
import { analyzeCommand, breakdownCommand, chartsCommand, compareCommand, familyCommand, hashesCommand, healthCommand, inspectCommand, layersCommand, lineageCommand, pairCommand, recipeCommand, reportCommand } from './commands';
import { EXIT } from './exitCodes';
import { interruptOnSigint } from './interrupt';

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

Exit codes: 0 all files compared, 1 some files could not be read (see errors), 2 usage, 3 failure, 130 cancelled (Ctrl-C), 143 stopped by SIGTERM.`;

/** A command: its arguments and the run's Ctrl-C signal in, an exit code out. */
type Command = (argv: string[], signal: AbortSignal) => number | Promise<number>;

/**
 * The commands that read model files for long and stop cleanly on the signal. The others are short and synchronous:
 * a handler could not run before they end, so Ctrl-C ends them as Node does by default.
 */
const CANCELLABLE: ReadonlySet<string> = new Set(['compare', 'pair', 'hashes', 'health', 'lineage', 'analyze', 'report', 'charts']);

const COMMANDS: Record<string, Command> = {
  compare: compareCommand,
  layers: layersCommand,
  inspect: inspectCommand,
  pair: pairCommand,
  breakdown: breakdownCommand,
  recipe: recipeCommand,
  hashes: hashesCommand,
  health: healthCommand,
  family: familyCommand,
  lineage: lineageCommand,
  analyze: analyzeCommand,
  report: reportCommand,
  charts: chartsCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const interrupt = command !== undefined && CANCELLABLE.has(command) ? interruptOnSigint() : undefined;
  try {
    const run = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command]! : undefined;
    if (run) return await run(rest, interrupt?.signal ?? new AbortController().signal);
    switch (command) {
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
    if (err.code === 'CANCELLED') return interrupt?.by === 'SIGTERM' ? EXIT.terminated : EXIT.cancelled;
    return EXIT.failure;
  } finally {
    interrupt?.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`modeldiff: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
