// npm run bench: modeldiff against a numpy Gram peer and the notebook's method, per generated folder, in one run:
// wall time and peak RSS of each, the read-once time, the arithmetic floor, the per-phase time and memory of compare,
// and how far our numbers are from the peers'. Every figure carries the load of the machine while it was measured
// ("others": cores busy with other processes, from /proc/stat).
//
//   BENCH_FOLDERS=sd15-16,sd15-64,sdxl-232,sd15-1000 (names in folder.ts; the default, all four: about 25 GB of
//                          generated models under .bench, kept between runs) or BENCH_SIZES=16,64 (SD1.5 folders)
//   BENCH_REPEATS=n        modeldiff runs per folder, the best is kept (default 3 up to 64 models, 1 above)
//   BENCH_SEED=full|subset|0  notebook method on the whole folder, on its first BENCH_SEED_MODELS models (default 24)
//                          with the time extrapolated to all pairs, or not at all (default: full up to 64 models,
//                          subset up to 232, not at all above: its cost is per pair, hours at 499,500 pairs)
//   BENCH_PEER=0, BENCH_HASHES=0|1 (compare --hashes vs a hashes pass; default on up to 64 models)
//   BENCH_WORKERS=n        passed to compare --workers; BENCH_MEMORY=MiB passed to --memory
//   BENCH_INCREMENTAL=0    skip the incremental line (the last 3 models added to a result of the others)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchFolder, FOLDERS, type FolderSpec } from './folder';
import { kernelRate } from './kernelRate';

const env = process.env;
const root = resolve(__dirname, '..');
const cli = join(root, 'dist/cli.js');
// the notebook's method, re-implemented (outside the repository: beside the main checkout, or named by BENCH_SEED_SCRIPT)
const SEED = [env.BENCH_SEED_SCRIPT, resolve(root, '../shared/baseline/seed_method.py'), resolve(root, '../../shared/baseline/seed_method.py')].find((p) => p && existsSync(p));
const PEER = join(__dirname, 'numpy_gram_peer.py');
const PYTHON = '/usr/bin/python3';
const PHASE_LINE = 'modeldiff-phase';

function selectedFolders(): FolderSpec[] {
  const names = env.BENCH_FOLDERS
    ? env.BENCH_FOLDERS.split(',')
    : env.BENCH_SIZES
      ? env.BENCH_SIZES.split(',').map((n) => `sd15-${n.trim()}`)
      : FOLDERS.map((f) => f.name);
  return names.map((raw) => {
    const name = raw.trim();
    const spec = FOLDERS.find((f) => f.name === name);
    if (!spec) throw new Error(`unknown bench folder ${name} (known: ${FOLDERS.map((f) => f.name).join(', ')})`);
    return spec;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

/** CPU ticks (1/100 s) busy on the whole machine, from /proc/stat (user, nice, system, irq, softirq). */
function busyTicks(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
  } catch {
    return NaN;
  }
}

interface Run {
  ok: boolean;
  seconds: number;
  rssMiB: number;
  /** cores kept busy by other processes while this ran */
  others: number;
  stdout: string;
  stderr: string;
}

function timed(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Run {
  const busy0 = busyTicks();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...env, ...extraEnv } });
  const busy = (busyTicks() - busy0) / 100;
  const last = (r.stderr ?? '').trim().split('\n').pop()!.split(' ').map(Number);
  const [seconds = NaN, rssKiB = NaN, user = 0, sys = 0] = last;
  const ok = r.status === 0 || r.status === 1;
  return { ok, seconds, rssMiB: rssKiB / 1024, others: Math.max(0, (busy - user - sys) / Math.max(seconds, 1e-3)), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `fn` in this process and reports the others' load meanwhile. */
async function inProcess<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number; others: number }> {
  const busy0 = busyTicks();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy = (busyTicks() - busy0) / 100;
  return { value, seconds, others: Math.max(0, (busy - (cpu.user + cpu.system) / 1e6) / Math.max(seconds, 1e-3)) };
}

const load = (others: number) => `others ${others.toFixed(1)}`;

function modelFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
}

function readOnce(dir: string): number {
  const buf = Buffer.alloc(16 << 20);
  const t0 = performance.now();
  for (const f of modelFiles(dir)) {
    const fd = openSync(join(dir, f), 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd);
  }
  return (performance.now() - t0) / 1000;
}

interface FolderShape {
  keys: number;
  /** flop of every key's pairs over the models that have it, counted as a Gram's: sum m(m+1)/2 x numel x 2 */
  flop: number;
}

/** Keys and Gram flop, from the safetensors headers. */
function folderShape(dir: string): FolderShape {
  const holders = new Map<string, { numel: number; m: number }>();
  const len = Buffer.alloc(8);
  for (const f of modelFiles(dir)) {
    const fd = openSync(join(dir, f), 'r');
    try {
      readSync(fd, len, 0, 8, 0);
      const h = Buffer.alloc(Number(len.readBigUInt64LE(0)));
      readSync(fd, h, 0, h.length, 8);
      for (const [key, v] of Object.entries(JSON.parse(h.toString('utf8')) as Record<string, { shape?: number[] }>)) {
        if (key === '__metadata__' || !v.shape) continue;
        const e = holders.get(key);
        if (e) e.m++;
        else holders.set(key, { numel: v.shape.reduce((a, b) => a * b, 1), m: 1 });
      }
    } finally {
      closeSync(fd);
    }
  }
  let flop = 0;
  for (const { numel, m } of holders.values()) flop += ((m * (m + 1)) / 2) * numel * 2;
  return { keys: holders.size, flop };
}

type ModelMap = { ml: string[]; dm: Record<string, (number | null)[][]> };

/**
 * Largest |ours - peer| / |peer| over the pairs both have (by file name), per component. Values are compared against
 * max(|peer|, 1e-6 x the component's largest distance): a float64 Gram leaves about 1e-8 of the scale where we
 * report an exact 0 (bit-identical tensors).
 */
function maxRelDiff(ours: ModelMap, peer: ModelMap): number {
  let worst = 0;
  const at = new Map(ours.ml.map((f, i) => [f, i]));
  const idx = peer.ml.map((f) => at.get(f));
  for (const [c, pm] of Object.entries(peer.dm)) {
    const om = ours.dm[c];
    if (!om) continue;
    let scale = 0;
    for (const row of pm) for (const v of row) if (v !== null && Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    pm.forEach((row, i) =>
      row.forEach((ref, j) => {
        const a = idx[i];
        const b = idx[j];
        if (i === j || ref === null || a === undefined || b === undefined) return;
        const v = om[a]![b];
        if (v === null || v === undefined) return;
        worst = Math.max(worst, Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-6 * scale, 1e-300));
      }),
    );
  }
  return worst;
}

function hasPython(modules: string): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}

/** A folder of symlinks to the first `count` models, for the notebook method on a subset. */
function subsetFolder(dir: string, count: number, into: string): string {
  const sub = join(into, `first-${count}`);
  mkdirSync(sub, { recursive: true });
  for (const f of modelFiles(dir).slice(0, count)) symlinkSync(join(dir, f), join(sub, f));
  return sub;
}

/**
 * An incremental run: the folder's first n - 3 models compared into a folder of their own, then all n into it (their
 * symlinks in one folder, so the second run finds the first's result). Times the second run.
 */
function incremental(dir: string, n: number, into: string, options: string[]): { run: Run; computed: number } {
  const models = join(into, 'incremental-models');
  const out = join(into, 'incremental-out');
  mkdirSync(models, { recursive: true });
  const files = modelFiles(dir);
  for (const f of files.slice(0, n - 3)) symlinkSync(join(dir, f), join(models, f));
  timed(process.execPath, [cli, 'compare', models, '--out', out, '--quiet', ...options]);
  for (const f of files.slice(n - 3)) symlinkSync(join(dir, f), join(models, f));
  const run = timed(process.execPath, [cli, 'compare', models, '--out', out, '--quiet', ...options]);
  let computed = NaN;
  try {
    computed = (JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { stats: { incremental?: { pairsComputed: number } } }).stats.incremental?.pairsComputed ?? NaN;
  } catch {
    // reported as NaN
  }
  rmSync(models, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  return { run, computed };
}

const fmt = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
const pairsOf = (n: number) => (n * (n - 1)) / 2;

// ---------------------------------------------------------------------------------------------------------------
// One folder

interface Summary {
  name: string;
  line: string;
}

async function benchOne(spec: FolderSpec, canPeer: boolean, canSeed: boolean): Promise<Summary> {
  const dir = benchFolder(join(root, '.bench'), spec);
  const files = modelFiles(dir);
  const n = files.length;
  const bytes = files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  const shape = folderShape(dir);
  const workers = Number(env.BENCH_WORKERS ?? Math.min(4, Math.max(1, cpus().length)));
  const big = n > 64;
  const out = mkdtempSync(join(tmpdir(), 'modeldiff-bench-'));
  const say = (s: string) => process.stdout.write(s + '\n');
  say(`\n== ${spec.name}: ${n} models (${spec.layout} at 1/${spec.scale} width, fp16), ${(bytes / 2 ** 30).toFixed(2)} GiB, ${shape.keys} keys, ${pairsOf(n)} pairs; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  readOnce(dir); // warm the page cache the same way for every contender
  const reads = [await inProcess(() => readOnce(dir)), await inProcess(() => readOnce(dir))];
  const read = reads.reduce((a, b) => (a.value <= b.value ? a : b));
  say(`  read once          ${fmt(read.value).padStart(8)} s  (${((bytes / read.value) / 1e9).toFixed(1)} GB/s from the page cache; ${load(read.others)})`);

  const columns = Math.max(512, Math.min(1 << 16, Math.floor((256 * 2 ** 20) / workers / (n * 8) / 512) * 512));
  const rate = await inProcess(() => kernelRate(n, Math.max(1, workers), { columns }));
  const floor = shape.flop / (rate.value * 1e9);
  say(`  arithmetic floor   ${fmt(floor).padStart(8)} s  (${shape.flop.toExponential(2)} flop at ${rate.value.toFixed(1)} GFLOP/s: the pair pipeline in ${workers} threads at m=${n}, ${columns} columns; ${load(rate.others)})`);

  const repeats = Number(env.BENCH_REPEATS ?? (big ? 1 : 3));
  // --fresh: every run computes everything (a second run into the same folder would otherwise reuse the first)
  const args = [cli, 'compare', dir, '--out', out, '--quiet', '--fresh', ...(env.BENCH_WORKERS ? ['--workers', env.BENCH_WORKERS] : []), ...(env.BENCH_MEMORY ? ['--memory', env.BENCH_MEMORY] : [])];
  const ours = Array.from({ length: repeats }, () => timed(process.execPath, args, { MODELDIFF_PHASES: '1' }));
  const okRuns = ours.filter((r) => r.ok);
  let summary = `${spec.name}: ${n} models, ${(bytes / 2 ** 30).toFixed(2)} GiB: read once ${fmt(read.value)} s, floor ${fmt(floor)} s`;
  const printPhases = (r: Run) => {
    say('  phases of that run (time, then memory at the end of the phase):');
    for (const l of r.stderr.split('\n').filter((l) => l.startsWith(PHASE_LINE))) say('    ' + l.slice(PHASE_LINE.length + 1));
  };
  // With modeldiff failed, the peers still run (their time and memory), without speed-ups or differences.
  let best: Run | null = null;
  let map: ModelMap | null = null;
  if (!okRuns.length) {
    const tail = ours[0]!.stderr.trim().split('\n').filter((l) => !l.startsWith(PHASE_LINE)).slice(-4).join('\n    ');
    say(`  modeldiff          FAILED after ${fmt(ours[0]!.seconds)} s, peak RSS ${ours[0]!.rssMiB.toFixed(0)} MiB (${load(ours[0]!.others)}):\n    ${tail}`);
    printPhases(ours[0]!);
    summary += ` | modeldiff FAILED after ${fmt(ours[0]!.seconds)} s, peak RSS ${ours[0]!.rssMiB.toFixed(0)} MiB (${load(ours[0]!.others)})`;
  } else {
    best = okRuns.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const peak = Math.max(...okRuns.map((r) => r.rssMiB));
    say(`  modeldiff          ${fmt(best.seconds).padStart(8)} s  peak RSS ${peak.toFixed(0)} MiB  (runs ${ours.map((r) => `${fmt(r.seconds)} s ${load(r.others)}`).join(', ')}); ${(best.seconds / floor).toFixed(1)}x the floor`);
    printPhases(best);
    map = JSON.parse(readFileSync(join(out, 'model_map_v2.json'), 'utf8')) as ModelMap;
    const sizes = ['result.json', 'layers.bin', 'model_map_v2.json'].map((f) => `${f} ${(statSync(join(out, f)).size / 2 ** 20).toFixed(1)} MiB`);
    say(`  outputs            ${sizes.join(', ')}`);
    summary += ` | modeldiff ${fmt(best.seconds)} s, peak RSS ${peak.toFixed(0)} MiB (${load(best.others)})`;
    if (env.BENCH_INCREMENTAL !== '0') {
      const inc = incremental(dir, n, out, args.slice(7)); // the --workers/--memory options, not --fresh
      say(`  incremental        ${fmt(inc.run.seconds).padStart(8)} s  peak RSS ${inc.run.rssMiB.toFixed(0)} MiB  (the last 3 models added to a result of the first ${n - 3}: ${inc.computed} of ${pairsOf(n)} pairs computed; ${load(inc.run.others)})`);
      summary += ` | +3 models ${fmt(inc.run.seconds)} s`;
    }
  }
  const versus = (seconds: number, peerMap: ModelMap) =>
    best && map ? `; modeldiff ${(seconds / best.seconds).toFixed(2)}x its speed; max relative difference ${maxRelDiff(map, peerMap).toExponential(2)}` : '';
  const versusShort = (seconds: number, peerMap: ModelMap) => (best && map ? `: ${(seconds / best.seconds).toFixed(2)}x, diff ${maxRelDiff(map, peerMap).toExponential(1)}` : '');

  if (canPeer && env.BENCH_PEER !== '0') {
    const peerOut = join(out, 'peer.json');
    const peer = timed(PYTHON, [PEER, dir, peerOut]);
    if (peer.ok && existsSync(peerOut)) {
      const pm = JSON.parse(readFileSync(peerOut, 'utf8')) as ModelMap & { blas: string };
      say(`  numpy Gram peer    ${fmt(peer.seconds).padStart(8)} s  peak RSS ${peer.rssMiB.toFixed(0)} MiB  (${pm.blas}; ${load(peer.others)})${versus(peer.seconds, pm)}`);
      summary += ` | numpy peer ${fmt(peer.seconds)} s, ${peer.rssMiB.toFixed(0)} MiB${versusShort(peer.seconds, pm)}`;
    } else say(`  numpy Gram peer    FAILED: ${peer.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  } else say('  numpy Gram peer    skipped (needs /usr/bin/python3 with numpy: apt-get install python3-numpy libopenblas0-pthread)');

  const seedMode = env.BENCH_SEED ?? (n > 232 ? '0' : big ? 'subset' : 'full');
  if (canSeed && seedMode !== '0' && SEED) {
    const count = seedMode === 'full' ? n : Math.min(n, Number(env.BENCH_SEED_MODELS ?? 24));
    const seedDir = count === n ? dir : subsetFolder(dir, count, out);
    const seedOut = join(out, 'seed.json');
    const seed = timed(PYTHON, [SEED, seedDir, seedOut, String(workers)]);
    if (seed.ok && existsSync(seedOut)) {
      const sm = JSON.parse(readFileSync(seedOut, 'utf8')) as ModelMap;
      // the method's cost is per pair; loading the models is a small part of it
      const full = (seed.seconds * pairsOf(n)) / pairsOf(count);
      const what = count === n ? `${fmt(seed.seconds)} s` : `${fmt(full)} s extrapolated from ${fmt(seed.seconds)} s on the first ${count} models (${pairsOf(count)} pairs)`;
      say(`  notebook method    ${what}, peak RSS ${seed.rssMiB.toFixed(0)} MiB${count === n ? '' : ' (subset)'} (${load(seed.others)})${versus(full, sm)}`);
      summary += ` | notebook ${fmt(full)} s${count === n ? '' : ' (extrapolated)'}${versusShort(full, sm)}`;
    } else say(`  notebook method    FAILED: ${seed.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  } else if (!canSeed) say('  notebook method    skipped (needs /usr/bin/python3 with torch: apt-get install python3-torch python3-numpy)');
  else if (!SEED) say('  notebook method    skipped (seed_method.py not found: set BENCH_SEED_SCRIPT)');
  else say(`  notebook method    skipped: ${pairsOf(n)} pairs, each a pass over both models, would take hours (BENCH_SEED=subset extrapolates from the first ${env.BENCH_SEED_MODELS ?? 24} models)`);

  if (env.BENCH_HASHES === '1' || (env.BENCH_HASHES !== '0' && !big)) {
    // hashes: during the comparison (fresh cache each time) vs the same hashes as a pass of their own afterwards
    const cache = join(out, 'hashes.json');
    const fresh = (a: string[]) => (rmSync(cache, { force: true }), timed(process.execPath, [cli, ...a, '--cache', cache]));
    const withHashes = [1, 2].map(() => fresh(['compare', dir, '--out', out, '--quiet', '--fresh', '--hashes'])).reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const hashPass = [1, 2].map(() => fresh(['hashes', dir, '--components'])).reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const plain = best ? `, vs compare + a hashes pass ${fmt(best.seconds + hashPass.seconds)} s` : '';
    say(`  compare --hashes   ${fmt(withHashes.seconds).padStart(8)} s  peak RSS ${withHashes.rssMiB.toFixed(0)} MiB${plain} (${load(withHashes.others)})`);
  }
  rmSync(out, { recursive: true, force: true });
  return { name: spec.name, line: summary };
}

async function main(): Promise<void> {
  const specs = selectedFolders();
  const canPeer = hasPython('numpy');
  const canSeed = hasPython('torch, numpy');
  const lines: string[] = [];
  for (const spec of specs) lines.push((await benchOne(spec, canPeer, canSeed)).line);
  process.stdout.write('\n' + lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
