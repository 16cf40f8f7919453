// npm run bench: modeldiff against the notebook's method on 16 and 64 generated models.
// Prints wall time, peak RSS and speed-up; the figures go into the closing notes of the engine issue.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchFolder } from './folder';

const root = resolve(__dirname, '..');
const sizes = (process.env.BENCH_SIZES ?? '16,64').split(',').map(Number);
const SEED = resolve(root, '../shared/baseline/seed_method.py');

interface Run {
  seconds: number;
  rssMiB: number;
}

function timed(cmd: string, args: string[]): Run & { stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const last = r.stderr.trim().split('\n').pop()!.split(' ');
  return { seconds: Number(last[0]), rssMiB: Number(last[1]) / 1024, stdout: r.stdout };
}

function readOnce(dir: string): number {
  const buf = Buffer.alloc(16 << 20);
  const t0 = performance.now();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
    const fd = openSync(join(dir, f), 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd);
  }
  return (performance.now() - t0) / 1000;
}

function hasTorch(): boolean {
  return existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

function maxRelDiff(ours: { ml: string[]; dm: Record<string, (number | null)[][]> }, seed: { ml: string[]; dm: Record<string, number[][]> }): number {
  let worst = 0;
  for (const [c, mat] of Object.entries(ours.dm)) {
    const s = seed.dm[c];
    if (!s) continue;
    mat.forEach((row, i) =>
      row.forEach((v, j) => {
        if (v === null || i === j) return;
        const ref = s[i]![j]!;
        if (ref === 0 && v === 0) return;
        worst = Math.max(worst, Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-30));
      }),
    );
  }
  return worst;
}

const benchRoot = join(root, '.bench');
const torch = hasTorch();
const rows: string[] = [];
for (const n of sizes) {
  const dir = benchFolder(benchRoot, n);
  const bytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  readOnce(dir); // warm the page cache the same way for every contender
  const read = Math.min(readOnce(dir), readOnce(dir));
  const out = mkdtempSync(join(tmpdir(), 'modeldiff-bench-'));
  const ours = [1, 2, 3].map(() => timed(process.execPath, [join(root, 'dist/cli.js'), 'compare', dir, '--out', out, '--quiet']));
  const best = ours.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const map = JSON.parse(readFileSync(join(out, 'model_map_v2.json'), 'utf8'));
  let line = `${n} models, ${(bytes / 2 ** 30).toFixed(2)} GiB: read once ${read.toFixed(2)} s | modeldiff ${best.seconds.toFixed(2)} s (runs ${ours.map((r) => r.seconds.toFixed(2)).join(', ')}), peak RSS ${Math.max(...ours.map((r) => r.rssMiB)).toFixed(0)} MiB`;
  // hashes: during the comparison (fresh cache each time) vs the same hashes as a pass of their own afterwards
  const cli = join(root, 'dist/cli.js');
  const cache = join(out, 'hashes.json');
  const fresh = (args: string[]) => (rmSync(cache, { force: true }), timed(process.execPath, [cli, ...args, '--cache', cache]));
  const withHashes = [1, 2].map(() => fresh(['compare', dir, '--out', out, '--quiet', '--hashes'])).reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const hashPass = [1, 2].map(() => fresh(['hashes', dir, '--components'])).reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  line += ` | compare --hashes ${withHashes.seconds.toFixed(2)} s (peak RSS ${withHashes.rssMiB.toFixed(0)} MiB) vs compare + a hashes pass ${(best.seconds + hashPass.seconds).toFixed(2)} s`;
  if (torch && existsSync(SEED) && process.env.BENCH_SKIP_SEED !== '1') {
    const seedOut = join(out, 'seed.json');
    const seed = timed('/usr/bin/python3', [SEED, dir, seedOut, '2']);
    const seedMap = JSON.parse(readFileSync(seedOut, 'utf8'));
    line += ` | notebook method ${seed.seconds.toFixed(2)} s, peak RSS ${seed.rssMiB.toFixed(0)} MiB | speed-up ${(seed.seconds / best.seconds).toFixed(1)}x | max relative difference of the L2 matrices ${maxRelDiff(map, seedMap).toExponential(2)}`;
  } else {
    line += ' | notebook method skipped (needs /usr/bin/python3 with torch: apt-get install python3-torch python3-numpy)';
  }
  rows.push(line);
  process.stdout.write(line + '\n');
  rmSync(out, { recursive: true, force: true });
}
process.stdout.write('\n' + rows.join('\n') + '\n');
