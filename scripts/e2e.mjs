// End-to-end tests in a real VS Code (code-server) driven by Playwright with Debian's chromium.
//   1. scripts/e2e-setup.sh: installs what is missing (apt chromium + build deps, code-server 4.100.3) and packages the .vsix;
//   2. generates the workspace (test/e2e/fixtures.ts);
//   3. installs the .vsix into a fresh profile and starts code-server on 127.0.0.1 (a free port);
//   4. runs every test/e2e/*.e2e.mjs scenario against it; screenshots go to test-artifacts/e2e/;
//   5. stops code-server (its process group) and prints "N passed, N failed".
// Env: MODELDIFF_SKIP_E2E=1 skips; E2E_KEEP=1 keeps the run folder (<cache>/tmp/run-*); E2E_ONLY=name runs one scenario;
//      E2E_BIG_MODELS (default 400) sizes the folder used by the cancel test.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(root, 'test-artifacts', 'e2e');
const TOTAL_BUDGET_MS = 9.5 * 60_000;
const SCENARIO_TIMEOUT_MS = 4 * 60_000;
const t0 = Date.now();
const secs = (since = t0) => ((Date.now() - since) / 1000).toFixed(1);
const log = (...a) => console.log(`[e2e +${secs()}s]`, ...a);

if (process.env.MODELDIFF_SKIP_E2E === '1') {
  console.log('e2e skipped (MODELDIFF_SKIP_E2E=1)');
  process.exit(0);
}

let passed = 0;
let failed = 0;
let server;
let runDir;
const timings = {};

function finish(code) {
  stopServer();
  if (runDir && process.env.E2E_KEEP !== '1') {
    // keep the logs next to the screenshots, drop the rest (the big folder is ~1.6 GB)
    try {
      const logs = path.join(runDir, 'data', 'logs');
      if (fs.existsSync(logs)) fs.cpSync(logs, path.join(OUT_DIR, 'logs'), { recursive: true });
      if (fs.existsSync(path.join(runDir, 'code-server.log'))) fs.copyFileSync(path.join(runDir, 'code-server.log'), path.join(OUT_DIR, 'code-server.log'));
    } catch (e) {
      log(`could not keep the logs: ${e.message}`);
    }
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  log(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${v}s`).join(', ')}; total ${secs()}s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code ?? (failed ? 1 : 0));
}

function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const pgid = server.pid;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // group gone
    }
    spawnSync('sleep', ['0.2']);
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

const budget = setTimeout(() => {
  log(`the whole e2e run exceeded ${TOTAL_BUDGET_MS / 60000} min: stopping`);
  failed++;
  finish(1);
}, TOTAL_BUDGET_MS);
budget.unref();
process.on('SIGINT', () => finish(130));
process.on('SIGTERM', () => finish(143));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

function runScenario(file, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => {
      log(`${path.basename(file)} timed out after ${SCENARIO_TIMEOUT_MS / 1000}s`);
      child.kill('SIGKILL');
    }, SCENARIO_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const m = [...tail.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
      if (m) resolve({ passed: Number(m[1]), failed: Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0) });
      else resolve({ passed: 0, failed: 1 });
    });
  });
}

try {
  // 1) setup
  let t = Date.now();
  log('setup (installs only what is missing)');
  const setup = spawnSync('bash', [path.join(root, 'scripts/e2e-setup.sh')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 7 * 60_000 });
  process.stdout.write(setup.stdout ?? '');
  if (setup.status !== 0) {
    log('e2e-setup.sh failed');
    failed++;
    finish(1);
  }
  const env = Object.fromEntries((setup.stdout ?? '').split('\n').filter((l) => /^[A-Z0-9_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  timings.setup = secs(t);

  // 2) workspace
  t = Date.now();
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  // outside the repository, so the workspace is not inside a git work tree
  const runParent = env.E2E_TMP ?? path.join(root, '.e2e');
  fs.mkdirSync(runParent, { recursive: true });
  // run folders of interrupted runs (the big folder is ~1.6 GB): drop those older than an hour
  for (const n of fs.readdirSync(runParent)) {
    const p = path.join(runParent, n);
    if (n.startsWith('run-') && Date.now() - fs.statSync(p).mtimeMs > 3600_000) fs.rmSync(p, { recursive: true, force: true });
  }
  runDir = fs.mkdtempSync(path.join(runParent, 'run-'));
  const home = path.join(runDir, 'home');
  const data = path.join(runDir, 'data');
  const ext = path.join(runDir, 'ext');
  const ws = path.join(runDir, 'ws');
  for (const d of [home, path.join(data, 'User'), ext, path.join(ws, '.vscode')]) fs.mkdirSync(d, { recursive: true });
  const gen = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/e2e/fixtures.ts'), ws, process.env.E2E_BIG_MODELS ?? '400'], { cwd: root, encoding: 'utf8' });
  if (gen.status !== 0) {
    log(`fixtures failed: ${gen.stderr}`);
    failed++;
    finish(1);
  }
  const manifestFile = path.join(runDir, 'manifest.json');
  fs.writeFileSync(manifestFile, gen.stdout);
  fs.writeFileSync(
    path.join(data, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'security.workspace.trust.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'workbench.enableExperiments': false,
      'files.exclude': { '**/.vscode': true },
      'git.enabled': false,
      'git.openRepositoryInParentFolders': 'never',
    }),
  );
  // One worker and a small budget make the 400-model folder run long enough to be cancelled by a click.
  fs.writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'modeldiff.compare.workers': 1, 'modeldiff.compare.memoryBudgetMiB': 16 }));
  timings.fixtures = secs(t);

  // 3) code-server
  t = Date.now();
  const csEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local/share'), TMPDIR: env.E2E_TMP ?? process.env.TMPDIR ?? '/tmp' };
  delete csEnv.VSCODE_IPC_HOOK_CLI;
  const inst = spawnSync(env.CODE_SERVER, ['--user-data-dir', data, '--extensions-dir', ext, '--install-extension', env.VSIX], { env: csEnv, encoding: 'utf8' });
  if (inst.status !== 0 || !/successfully installed/i.test(inst.stdout + inst.stderr)) {
    log(`installing the vsix failed: ${inst.stdout}${inst.stderr}`);
    failed++;
    finish(1);
  }
  log(`installed ${path.basename(env.VSIX)}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const csLog = fs.openSync(path.join(runDir, 'code-server.log'), 'w');
  server = spawn(
    env.CODE_SERVER,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', data, '--extensions-dir', ext, ws],
    { env: csEnv, detached: true, stdio: ['ignore', csLog, csLog] },
  );
  if (!(await waitHealthy(url, 60_000))) {
    log(`code-server did not come up; log:\n${fs.readFileSync(path.join(runDir, 'code-server.log'), 'utf8').slice(-3000)}`);
    failed++;
    finish(1);
  }
  timings.server = secs(t);
  log(`code-server ${url} (pid ${server.pid})`);

  // 4) scenarios
  t = Date.now();
  const only = process.env.E2E_ONLY;
  const scenarios = fs
    .readdirSync(path.join(root, 'test/e2e'))
    .filter((n) => n.endsWith('.e2e.mjs') && (!only || n.includes(only)))
    .sort();
  for (const name of scenarios) {
    log(`scenario ${name}`);
    const r = await runScenario(path.join(root, 'test/e2e', name), {
      ...process.env,
      CS_URL: url,
      WS_DIR: ws,
      OUT_DIR,
      MANIFEST: manifestFile,
      CHROMIUM: env.CHROMIUM,
      PROFILE_DIR: runDir,
      LOG_DIR: path.join(data, 'logs'),
      TMPDIR: env.E2E_TMP ?? process.env.TMPDIR ?? '/tmp',
    });
    passed += r.passed;
    failed += r.failed;
  }
  timings.scenarios = secs(t);
} catch (e) {
  log(`ERROR ${e?.stack ?? e}`);
  failed++;
}
finish();
