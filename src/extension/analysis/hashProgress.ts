/**
 * Progress of hashing a folder's models: each model is read twice (the file hash, then the component hashes over
 * its tensors), so each pass counts for the model's size in the overall percent. Pure.
 */
import { formatBytes } from '../util/format';

export type HashPass = 'file' | 'components';

export interface HashProgressReport {
  /** overall percent done, 0..100 */
  percent: number;
  message: string;
}

export class HashProgress {
  private readonly total: number;

  constructor(private readonly models: readonly { file: string; sizeBytes: number }[]) {
    this.total = models.reduce((s, m) => s + 2 * Math.max(0, m.sizeBytes), 0);
  }

  /** `done` of `total` bytes of pass `pass` of model `index`. */
  report(index: number, pass: HashPass, done: number, total: number): HashProgressReport {
    const m = this.models[index]!;
    let before = 0;
    for (let i = 0; i < index; i++) before += 2 * Math.max(0, this.models[i]!.sizeBytes);
    const size = Math.max(0, m.sizeBytes);
    const within = (pass === 'components' ? size : 0) + (total > 0 ? (size * Math.min(done, total)) / total : 0);
    const percent = this.total > 0 ? Math.min(100, Math.floor((100 * (before + within)) / this.total)) : 0;
    const what = pass === 'file' ? 'file hash' : 'component hashes';
    return { percent, message: `${m.file} (${index + 1}/${this.models.length}) · ${what} · ${formatBytes(done)} of ${formatBytes(total)}` };
  }
}
