// Runs the tests of one kind with node's test runner (TypeScript through tsx). The kinds are folders of test/:
//   unit         pure and in-process tests, no bundle, no browser, no other program (test/unit)
//   integration  the engine with its worker bundles, the CLI, the PyTorch cross-check (test/integration; needs dist/)
//   hostile      hostile and fuzzed files opened in a sandbox (test/hostile)
//   faults       faults injected into runs: files changed, deleted or not regular, permissions, ENOSPC on a small tmpfs
//                (mounted when root, skipped otherwise), signals (test/faults; needs dist/ and mkfifo)
//   webview      the panel's bundle in Chromium against a fake host (test/webview; needs dist/ and chromium)
//   report       the HTML report written and opened in Chromium (test/report; needs dist/ and chromium)
// The end-to-end tests in a real VS Code are scripts/e2e.mjs (npm run test:e2e).
//
//   node scripts/test.mjs --kind unit       every test of a kind (npm run test:unit, test:integration, test:faults, ...)
//   node scripts/test.mjs <substring>...    the test files whose path contains a substring, of any kind
//   node scripts/test.mjs                   every kind above, one after the other
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KINDS = ['unit', 'integration', 'hostile', 'faults', 'webview', 'report'];

const args = process.argv.slice(2);
const kindAt = args.indexOf('--kind');
const kind = kindAt >= 0 ? args[kindAt + 1] : undefined;
if (kindAt >= 0 && !KINDS.includes(kind)) {
  console.error(`test.mjs: --kind is one of ${KINDS.join(', ')}`);
  process.exit(2);
}
const only = args.filter((a, i) => !a.startsWith('--') && (kindAt < 0 || i !== kindAt + 1));

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules') find(p, out);
    } else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const kinds = kind ? [kind] : KINDS;
let files = kinds.flatMap((k) => find(join(root, 'test', k)).sort());
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (!files.length) {
  console.error(`test.mjs: no test file matches ${JSON.stringify(only)}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
