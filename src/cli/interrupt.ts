/**
 * Ctrl-C (SIGINT) and SIGTERM as cancellation, the same for every command that reads model files for long (main.ts
 * CANCELLABLE): main() makes one signal for the run and hands it to the command. The first SIGINT or SIGTERM aborts it
 * (the command stops at the next check, leaves its outputs whole, removes what it had staged, and exits 130 for
 * SIGINT, 143 for SIGTERM, as a shell reports a process ended by that signal); a second one ends the process as Node
 * does by default.
 */
export interface Interrupt {
  signal: AbortSignal;
  /** the signal that stopped the run, if one did */
  readonly by: 'SIGINT' | 'SIGTERM' | undefined;
  dispose(): void;
}

export function interruptOnSigint(): Interrupt {
  const controller = new AbortController();
  let by: Interrupt['by'];
  const on = (name: 'SIGINT' | 'SIGTERM') => () => {
    by ??= name;
    controller.abort();
  };
  const onSigint = on('SIGINT');
  const onSigterm = on('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  return {
    signal: controller.signal,
    get by() {
      return by;
    },
    dispose: () => {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigterm);
    },
  };
}
