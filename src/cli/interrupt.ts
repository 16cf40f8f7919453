/**
 * Ctrl-C as cancellation, the same for every command that reads model files for long (main.ts CANCELLABLE): main()
 * makes one signal for the run and hands it to the command. The first SIGINT aborts it (the command stops at the next
 * check, leaves its outputs whole and exits 130); a second one ends the process as Node does by default.
 */
export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

export function interruptOnSigint(): Interrupt {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}
