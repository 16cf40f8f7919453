// Bundles every entry point with esbuild. `--production` minifies and drops source maps.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const common = {
  bundle: true,
  logLevel: 'warning',
  sourcemap: production ? false : 'linked',
  minify: production,
  absWorkingDir: root,
};
const node = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', '@napi-rs/nice'] };

const entries = [
  { in: 'src/cli/main.ts', out: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { in: 'src/compute/engine/worker.ts', out: 'dist/engineWorker.js' },
  { in: 'src/compute/hashWorker.ts', out: 'dist/hashWorker.js' },
  { in: 'src/compute/analysis/analyzeWorker.ts', out: 'dist/analysisWorker.js' },
  // piscina starts its own bootstrap from `${__dirname}/worker.js`; bundling piscina means shipping it beside us.
  { in: 'node_modules/piscina/dist/worker.js', out: 'dist/worker.js' },
  { in: 'src/extension/extension.ts', out: 'dist/extension.js' },
];
mkdirSync(join(root, 'dist'), { recursive: true });
const builds = entries
  .filter((e) => existsSync(join(root, e.in)))
  .map((e) => esbuild.build({ ...node, entryPoints: [e.in], outfile: e.out, banner: e.banner }));
if (existsSync(join(root, 'src/webview/main.ts'))) {
  builds.push(
    esbuild.build({
      ...common,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      entryPoints: ['src/webview/main.ts'],
      outfile: 'dist/webview/webview.js',
      loader: { '.css': 'text' },
    }),
  );
}
// The standalone HTML report inlines this one (modeldiff report): always minified, no source map.
if (existsSync(join(root, 'src/webview/report/main.ts'))) {
  builds.push(
    esbuild.build({
      ...common,
      sourcemap: false,
      minify: true,
      legalComments: 'eof',
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      entryPoints: ['src/webview/report/main.ts'],
      outfile: 'dist/webview/report.js',
      loader: { '.css': 'text' },
    }),
  );
}
await Promise.all(builds);
