// The layer rules of eslint.config.mjs (docs/architecture.md) fail on imports that cross a layer, and pass the ones
// that follow it: each case is linted as if it were a file at that path, with the project's own config.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = join(__dirname, '../../..');
// only the layer rule, parsed without type information (the type-aware rules need a file of a tsconfig project)
const eslint = new ESLint({
  cwd: root,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(root, file) });
  return r!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const CROSSING: [file: string, code: string, why: RegExp][] = [
  ['src/shared/probe.ts', "import type { Plan } from '../compute/engine/plan';", /src\/shared imports nothing of ours/],
  ['src/shared/protocol/probe.ts', "export { compareModels } from '../../compute';", /src\/shared imports nothing of ours/],
  ['src/shared/probe.ts', "import { readFileSync } from 'node:fs';", /no node: modules/],
  ['src/shared/probe.ts', "import * as vscode from 'vscode';", /only src\/extension imports vscode/],
  ['src/compute/engine/probe.ts', "import { reportHtml } from '../../views/report/page';", /src\/compute imports only src\/shared/],
  ['src/compute/probe.ts', "import { EXIT } from '../cli/exitCodes';", /src\/compute imports only src\/shared/],
  ['src/views/charts/probe.ts', "import { pairIndex } from '../../compute/output/resultFiles';", /views import only src\/shared/],
  ['src/views/charts/probe.ts', "import { join } from 'node:path';", /no node: modules/],
  ['src/views/report/probe.ts', "import { bundledFile } from '../../compute/io/bundledFile';", /views import only src\/shared/],
  ['src/webview/logic/probe.ts', "import type { CompareResult } from '../../compute';", /the webview imports only src\/shared/],
  ['src/webview/probe.ts', "import { reportHtml } from '../views/report/page';", /report page is written in Node/],
  ['src/cli/commands/probe.ts', "import { HashCache } from '../../compute/analysis/hashes';", /only through src\/compute\/index.ts/],
  ['src/cli/probe.ts', "import { SessionState } from '../extension/session';", /the CLI imports compute \(its index\), shared and views only/],
  ['src/extension/probe.ts', "import { startHashPass } from '../compute/pipeline/hashPass';", /only through src\/compute\/index.ts/],
];

test('an import that crosses a layer is a lint error naming the rule', async () => {
  for (const [file, code, why] of CROSSING) {
    const errors = await layerErrors(file, code);
    assert.equal(errors.length, 1, `${file}: ${code} -> ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, /^no-restricted-imports: /);
    assert.match(errors[0]!, why, `${file}: ${code}`);
  }
});

const FOLLOWING: [file: string, code: string][] = [
  ['src/shared/probe.ts', "import type { CompareResult } from './result';"],
  ['src/compute/engine/probe.ts', "import { ModeldiffError } from '../../shared/errors';\nimport { makePlan } from './plan';"],
  ['src/views/charts/probe.ts', "import type { CompareResult } from '../../shared/result';\nimport { chartNumber } from './text';"],
  ['src/views/report/probe.ts', "import { createHash } from 'node:crypto';"],
  ['src/webview/logic/probe.ts', "import type { CompareResult } from '../../shared/result';\nimport { chartNumber } from '../../views/charts/text';"],
  ['src/cli/commands/probe.ts', "import { compareModels } from '../../compute';\nimport { analyze } from '../../compute/index';\nimport { reportHtml } from '../../views/report/page';"],
  ['src/extension/probe.ts', "import * as vscode from 'vscode';\nimport { compareModels } from '../compute';\nimport type { HostMessage } from '../shared/protocol';"],
];

test('imports that follow the layers pass', async () => {
  for (const [file, code] of FOLLOWING) assert.deepEqual(await layerErrors(file, code), [], `${file}: ${code}`);
});
