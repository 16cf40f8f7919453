/** The pair arrays of one item's result (workTask.ts ItemResult). */
export interface PairArrays {
  d2: Float64Array;
  dot: Float64Array;
  identical: Uint8Array;
}

/**
 * A worker's pair arrays, used again from one task to the next. A worker's answer is copied into its reply message
 * as the task ends (piscina posts it as soon as the task function returns, one task at a time per worker), so when
 * the next task begins the last one's arrays are free. Made anew, each array (8.5 MB an item at 1,000 members)
 * waited for the worker's garbage collector: about 45 MiB of peak memory at 1,000 models.
 */
export class ResultArrays {
  private free: PairArrays[] = [];
  private lent: PairArrays[] = [];

  /** A task begins: the arrays of the one before are free again (the ones it did not use are let go). */
  nextTask(): void {
    this.free = this.lent;
    this.lent = [];
  }

  /** Arrays for `pairs` pairs, contents unspecified. */
  take(pairs: number): PairArrays {
    const at = this.free.findIndex((a) => a.d2.length === pairs);
    const arrays = at >= 0 ? this.free.splice(at, 1)[0]! : fresh(pairs);
    this.lent.push(arrays);
    return arrays;
  }
}

export function fresh(pairs: number): PairArrays {
  return { d2: new Float64Array(pairs), dot: new Float64Array(pairs), identical: new Uint8Array(pairs) };
}
