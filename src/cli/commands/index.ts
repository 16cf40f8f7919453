// Every command of the CLI, in the order `modeldiff --help` lists them; main.ts dispatches to these.
import type { CommandSpec } from '../args';
import { analyzeCommand, analyzeSpec } from './analyze';
import { attributeCommand, attributeSpec } from './attribute';
import { breakdownCommand, breakdownSpec } from './breakdown';
import { chartsCommand, chartsSpec } from './charts';
import { compareCommand, compareSpec } from './compare';
import { familyCommand, familySpec } from './family';
import { hashesCommand, hashesSpec } from './hashes';
import { healthCommand, healthSpec } from './health';
import { inspectCommand, inspectSpec } from './inspect';
import { layersCommand, layersSpec } from './layers';
import { lineageCommand, lineageSpec } from './lineage';
import { mergeCommand, mergeSpec } from './shard';
import { pairCommand, pairSpec } from './pair';
import { recipeCommand, recipeSpec } from './recipe';
import { reportCommand, reportSpec } from './report';

/** A command: its arguments and the run's signal in (aborted by Ctrl-C or SIGTERM), an exit code out. */
export interface Command {
  spec: CommandSpec;
  run: (argv: string[], signal: AbortSignal) => number | Promise<number>;
  /**
   * Reads model files for long and stops cleanly on the signal. The others are short and synchronous: a handler could
   * not run before they end, so a signal ends them as Node does by default.
   */
  cancellable: boolean;
}

export const COMMANDS: readonly Command[] = [
  { spec: compareSpec, run: compareCommand, cancellable: true },
  { spec: mergeSpec, run: mergeCommand, cancellable: true },
  { spec: layersSpec, run: layersCommand, cancellable: false },
  { spec: pairSpec, run: pairCommand, cancellable: true },
  { spec: inspectSpec, run: inspectCommand, cancellable: true },
  { spec: breakdownSpec, run: breakdownCommand, cancellable: false },
  { spec: recipeSpec, run: recipeCommand, cancellable: false },
  { spec: hashesSpec, run: hashesCommand, cancellable: true },
  { spec: healthSpec, run: healthCommand, cancellable: true },
  { spec: familySpec, run: familyCommand, cancellable: false },
  { spec: lineageSpec, run: lineageCommand, cancellable: true },
  { spec: analyzeSpec, run: analyzeCommand, cancellable: true },
  { spec: reportSpec, run: reportCommand, cancellable: true },
  { spec: chartsSpec, run: chartsCommand, cancellable: true },
  { spec: attributeSpec, run: attributeCommand, cancellable: true },
];
