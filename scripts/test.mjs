// Runs the unit and integration tests with node's test runner (TypeScript through tsx),
// then, unless --unit is given, the end-to-end tests in a real VS Code (scripts/e2e.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'e2e' && name !== 'node_modules') find(p, out);
    } else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
let files = find(join(root, 'test')).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
if (!process.argv.includes('--unit') && !only.length && existsSync(join(root, 'scripts/e2e.mjs'))) {
  const e = spawnSync(process.execPath, [join(root, 'scripts/e2e.mjs')], { cwd: root, stdio: 'inherit' });
  process.exit(e.status ?? 1);
}
