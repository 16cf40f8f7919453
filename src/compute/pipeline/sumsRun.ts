import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ModeldiffError } from '../../shared/errors';
import { fingerprintDifference, readSumsFile, SUMS_FILE, writeSumsFile, type SumsFile, type SumsFingerprint } from '../engine/checkpoint';
import type { ResultBuilder } from '../engine/resultBuilder';
import { readLayerRow, type LayersWriter } from '../output/layersFile';

/** Shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

export interface SumsRunOptions {
  /** the staging folder the run writes into */
  dir: string;
  /** what the sums are about (worked out when first needed: a digest of every header takes a while at 232 models) */
  fingerprint: () => SumsFingerprint;
  run: SumsFile['run'];
  shard: ShardSpec | null;
  /** the leaves this run is about */
  share: Uint8Array;
  checkpointSeconds: number;
  notice: (message: string) => void;
  onCheckpoint?: (finished: number, leaves: number) => void;
}

/** What the engine did in this run: bytes read, the kernels' name. */
export interface EngineCounts {
  bytesRead: number;
  kernels: string;
}

/** Default least time between two checkpoints. */
export const CHECKPOINT_SECONDS = 5;

/**
 * A run's partial sums on disk: the checkpoint it carries on from, the checkpoints it writes (at most every few seconds
 * of work, and never taking more than about 5% of the run), the file a shard leaves, and the shards a merge adds up.
 */
export class SumsRun {
  private lastWrite = performance.now();
  private writeSeconds = 0;
  /** bytes read by earlier runs, carried into the stats */
  carried: EngineCounts = { bytesRead: 0, kernels: '' };

  private fp: SumsFingerprint | undefined;

  constructor(private o: SumsRunOptions) {}

  private get fingerprint(): SumsFingerprint {
    return (this.fp ??= this.o.fingerprint());
  }

  static hasCheckpoint(dir: string): boolean {
    return existsSync(join(dir, SUMS_FILE));
  }

  get path(): string {
    return join(this.o.dir, SUMS_FILE);
  }

  /** The checkpoint an interrupted run left, if it is about the same work; otherwise null, with a notice saying why. */
  loadCheckpoint(): SumsFile | null {
    let f: SumsFile;
    try {
      f = readSumsFile(this.path);
    } catch (e) {
      this.o.notice(`the checkpoint in ${this.o.dir} was not used (${(e as Error).message}): starting again`);
      return null;
    }
    const why =
      fingerprintDifference(this.fingerprint, f.fingerprint) ??
      (JSON.stringify(f.shard) !== JSON.stringify(this.o.shard) ? `it is about ${f.shard ? `shard ${f.shard.index}/${f.shard.count}` : 'the whole work'}, this run ${this.o.shard ? `shard ${this.o.shard.index}/${this.o.shard.count}` : 'the whole work'}` : null);
    if (why) {
      this.o.notice(`the checkpoint in ${this.o.dir} was not used: ${why}; starting again`);
      return null;
    }
    this.carried = { bytesRead: f.bytesRead, kernels: f.kernels };
    let done = 0;
    for (const n of f.state.nodes) {
      done += n.end - n.first;
    }
    this.o.notice(`carrying on from the checkpoint in ${this.o.dir} (${done} of ${this.fingerprint.leaves} parts of the work done)`);
    return f;
  }

  /** Forgets the checkpoint (the run starts again from nothing). */
  discardCheckpoint(): void {
    rmSync(this.path, { force: true });
  }

  /** Writes a checkpoint if enough time has passed since the last one. */
  maybeCheckpoint(builder: ResultBuilder, layers: LayersWriter, stats: EngineCounts): void {
    const since = (performance.now() - this.lastWrite) / 1000;
    if (this.o.checkpointSeconds > 0 && since < Math.max(this.o.checkpointSeconds, 20 * this.writeSeconds)) return;
    this.checkpoint(builder, layers, stats);
  }

  checkpoint(builder: ResultBuilder, layers: LayersWriter, stats: EngineCounts): void {
    const t0 = performance.now();
    // the rows the checkpoint counts as written must be on disk before it is
    layers.sync();
    writeSumsFile(this.path, this.file(builder, stats));
    this.lastWrite = performance.now();
    this.writeSeconds = (this.lastWrite - t0) / 1000;
    const finished = builder.finishedLeaves();
    let n = 0;
    for (const x of finished) n += x;
    this.o.onCheckpoint?.(n, finished.length);
  }

  file(builder: ResultBuilder, stats: EngineCounts): SumsFile {
    return {
      fingerprint: this.fingerprint,
      run: this.o.run,
      shard: this.o.shard,
      share: this.o.share,
      state: builder.state(),
      bytesRead: this.carried.bytesRead + stats.bytesRead,
      kernels: stats.kernels,
    };
  }

  /**
   * Adds shard output folders into `builder` and `layers`: each must be a finished shard of this very work (same
   * files, options and split), and together they must cover it exactly once. Returns the shards' summed stats.
   */
  mergeShards(dirs: string[], builder: ResultBuilder, layers: LayersWriter): EngineCounts {
    const leaves = this.fingerprint.leaves;
    const covered = new Uint8Array(leaves);
    const stats = { bytesRead: 0, kernels: '' };
    for (const dir of dirs) {
      const path = join(dir, SUMS_FILE);
      let f: SumsFile;
      try {
        f = readSumsFile(path);
      } catch (e) {
        throw new ModeldiffError('USAGE', existsSync(path) ? `cannot use it: ${(e as Error).message}` : `no ${SUMS_FILE} here: not the output of a finished \`compare --shard\``, { file: dir });
      }
      const why = fingerprintDifference(this.fingerprint, f.fingerprint);
      if (why) throw new ModeldiffError('USAGE', `this shard is not about the same work: ${why}`, { file: dir });
      const before = builder.finishedLeaves();
      let overlap = false;
      for (let l = 0; l < leaves; l++) {
        if (!f.share[l]) continue;
        if (covered[l]) overlap = true;
        covered[l] = 1;
      }
      if (overlap) throw new ModeldiffError('USAGE', `shard ${f.shard ? `${f.shard.index}/${f.shard.count}` : ''} overlaps another shard given (the same shard twice, or shards of different splits)`, { file: dir });
      builder.absorb(f.state);
      const after = builder.finishedLeaves();
      for (let l = 0; l < leaves; l++) {
        if (f.share[l] && !(after[l] && !before[l])) throw new ModeldiffError('USAGE', 'this shard did not finish its share of the work', { file: dir });
      }
      copyRows(join(dir, 'layers.bin'), f.state.written, layers, this.fingerprint.keys, this.fingerprint.pairs);
      stats.bytesRead += f.bytesRead;
      stats.kernels ||= f.kernels;
    }
    const missing = covered.reduce((n, x) => n + (x ? 0 : 1), 0);
    if (missing) throw new ModeldiffError('USAGE', `the shards given leave ${missing} of ${leaves} parts of the work undone: give every shard's folder`);
    return stats;
  }
}

function copyRows(path: string, written: Uint8Array, layers: LayersWriter, keys: number, pairs: number): void {
  const fd = openSync(path, 'r');
  try {
    for (let k = 0; k < keys; k++) {
      if (!written[k]) continue;
      for (let plane = 0; plane < 2; plane++) layers.writeRow(plane, k, readLayerRow(fd, keys, pairs, plane, k));
    }
  } finally {
    closeSync(fd);
  }
}
