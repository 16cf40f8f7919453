import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModeldiffError } from '../../shared/errors';

/**
 * A file esbuild writes to dist/ (a worker, the report's page script): beside the running bundle once built, or in the
 * repository's dist/ when running from sources (tests, tsx).
 */
export function bundledFile(relative: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, relative), join(dir, 'dist', relative)]) if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new ModeldiffError('IO_ERROR', `dist/${relative} not found: run \`npm run build\` first`);
}
