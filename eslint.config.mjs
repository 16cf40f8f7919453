// The lint half of the gate (`npm run gate`, first step of `npm test`): the layer rules of docs/architecture.md as
// import restrictions, and a few rules that catch real bugs (promises left floating, unused code, type-only imports
// that would otherwise be bundled). No stylistic rules: formatting is not checked here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** An import of a folder of src/ by a relative path, from any depth: `../compute/x`, `../../views`... */
const folder = (names) => `^(\\.\\./)+(${names.join('|')})(/|$)`;
const NODE = { regex: '^node:', message: 'no node: modules here (this code also runs in the webview)' };
const VSCODE = { name: 'vscode', message: 'only src/extension imports vscode' };

const MJS_GLOBALS = ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'structuredClone', 'AbortController', 'TextDecoder', 'TextEncoder', 'WebAssembly', 'fetch', 'document', 'window', 'Event', 'getComputedStyle'];

/** The layers, bottom to top: shared <- compute <- doors; shared <- views <- doors. */
export const LAYER_RULES = [
  {
    files: ['src/shared/**/*.ts'],
    paths: [VSCODE],
    patterns: [{ regex: folder(['compute', 'views', 'webview', 'cli', 'extension']), message: 'src/shared imports nothing of ours (layers: docs/architecture.md)' }, NODE],
  },
  {
    files: ['src/compute/**/*.ts'],
    paths: [VSCODE],
    patterns: [{ regex: folder(['views', 'webview', 'cli', 'extension']), message: 'src/compute imports only src/shared (layers: docs/architecture.md)' }],
  },
  {
    files: ['src/views/**/*.ts'],
    paths: [VSCODE],
    patterns: [{ regex: folder(['compute', 'webview', 'cli', 'extension']), message: 'views import only src/shared (layers: docs/architecture.md)' }],
  },
  {
    files: ['src/views/charts/**/*.ts'],
    paths: [VSCODE],
    patterns: [{ regex: folder(['compute', 'webview', 'cli', 'extension']), message: 'views import only src/shared (layers: docs/architecture.md)' }, NODE],
  },
  {
    files: ['src/webview/**/*.ts'],
    paths: [VSCODE],
    patterns: [
      { regex: folder(['compute', 'cli', 'extension']), message: 'the webview imports only src/shared and src/views/charts (layers: docs/architecture.md)' },
      { regex: '^(\\.\\./)+views/report(/|$)', message: 'the report page is written in Node; the webview imports only src/views/charts' },
      NODE,
    ],
  },
  {
    files: ['src/cli/**/*.ts'],
    paths: [VSCODE],
    patterns: [
      { regex: '^(\\.\\./)+compute/(?!index$)', message: 'the CLI reaches compute only through src/compute/index.ts: export what you need there' },
      { regex: folder(['extension', 'webview']), message: 'the CLI imports compute (its index), shared and views only' },
    ],
  },
  {
    files: ['src/extension/**/*.ts'],
    patterns: [
      { regex: '^(\\.\\./)+compute/(?!index$)', message: 'the extension reaches compute only through src/compute/index.ts: export what you need there' },
      { regex: folder(['cli', 'webview']), message: 'the extension imports compute (its index), shared and views only' },
    ],
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.e2e/**', '.bench/**', '.demo/**', 'test-artifacts/**', 'src/compute/kernels/wasm/assembly/**', 'src/compute/kernels/wasm/generated.ts'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // promises: a rejected promise nobody awaits is a lost error; `void p` says it is meant
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test()/describe() return promises the runner itself awaits
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      // dead code
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-unreachable': 'error',
      'no-useless-catch': 'error',
      // type-only imports never reach a bundle (the webview must not pull compute code in through a type)
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // plain mistakes
      'no-fallthrough': 'error',
      'no-self-compare': 'error',
      'no-dupe-keys': 'error',
      'no-duplicate-case': 'error',
      'no-unsafe-finally': 'error',
      'no-cond-assign': ['error', 'except-parens'],
      'no-constant-binary-expression': 'error',
      'no-self-assign': 'error',
      'no-sparse-arrays': 'error',
      'no-control-regex': 'error',
      'use-isnan': 'error',
      'valid-typeof': 'error',
    },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    // scripts and the e2e tests: Node, plus the page globals of the functions the e2e tests run in the browser
    languageOptions: { globals: Object.fromEntries(MJS_GLOBALS.map((g) => [g, 'readonly'])) },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  ...LAYER_RULES.map(({ files, paths, patterns }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { ...(paths ? { paths } : {}), patterns }] },
  })),
);
