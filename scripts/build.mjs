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
  { in: 'src/compute/workers/engineWorker.ts', out: 'dist/engineWorker.js' },
  { in: 'src/compute/workers/hashWorker.ts', out: 'dist/hashWorker.js' },
  { in: 'src/compute/workers/analysisWorker.ts', out: 'dist/analysisWorker.js' },
  { in: 'src/compute/workers/loraWorker.ts', out: 'dist/loraWorker.js' },
  { in: 'src/compute/workers/loraCompareWorker.ts', out: 'dist/loraCompareWorker.js' },
  // piscina starts its own bootstrap from `${__dirname}/worker.js`; bundling piscina means shipping it beside us.
  { in: 'node_modules/piscina/dist/worker.js', out: 'dist/worker.js' },
  { in: 'src/extension/extension.ts', out: 'dist/extension.js' },
];
mkdirSync(join(root, 'dist'), { recursive: true });
// A missing entry point is an error (a moved file), never a bundle silently left out.
for (const e of entries) if (!existsSync(join(root, e.in))) throw new Error(`build: entry point ${e.in} does not exist`);
const builds = entries.map((e) => esbuild.build({ ...node, entryPoints: [e.in], outfile: e.out, banner: e.banner }));
const browser = { ...common, platform: 'browser', format: 'iife', target: 'chrome120', loader: { '.css': 'text' } };
builds.push(esbuild.build({ ...browser, entryPoints: ['src/webview/main.ts'], outfile: 'dist/webview/webview.js' }));
// The standalone HTML report inlines this one (modeldiff report): always minified, no source map.
builds.push(
  esbuild.build({
    ...browser,
    sourcemap: false,
    minify: true,
    legalComments: 'eof',
    entryPoints: ['src/webview/report/main.ts'],
    outfile: 'dist/webview/report.js',
  }),
);
await Promise.all(builds);
