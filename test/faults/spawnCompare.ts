/** `modeldiff compare` in a child process, optionally stopped by a signal once the run has reached a given point. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const CLI = resolve(__dirname, '../../dist/cli.js');

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface SpawnCompareOptions {
  /** more arguments after `--out <out> --quiet` */
  args?: string[];
  env?: Record<string, string>;
  /** sent once the file `when` exists (polled every 2 ms) */
  stop?: { signal: NodeJS.Signals; when: string };
}

/** Runs `modeldiff compare <inputs> --out <out> --quiet [args]`; fails if it has not ended after 300 s. */
export function spawnCompare(inputs: string[], out: string, opts: SpawnCompareOptions = {}): Promise<Ended> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'compare', ...inputs, '--out', out, '--quiet', ...(opts.args ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    const stop = opts.stop;
    if (stop) {
      timer = setInterval(() => {
        if (existsSync(stop.when)) {
          clearInterval(timer);
          child.kill(stop.signal);
        }
      }, 2);
    }
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`compare did not end in time (stop: ${stop?.signal ?? 'none'}); stderr: ${stderr}`));
    }, 300_000);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      clearTimeout(limit);
      done({ code, signal, stderr });
    });
  });
}
