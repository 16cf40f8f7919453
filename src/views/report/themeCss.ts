/**
 * The VS Code theme variables the panel's styles and widgets read, for a report opened in a plain browser: VS Code's
 * default Light Modern and Dark Modern colours, picked by the reader's colour-scheme preference. The page's script
 * sets the matching `vscode-light` / `vscode-dark` body class (src/webview/report/staticHost.ts).
 */
import { DARK_THEME_VARS as DARK, LIGHT_THEME_VARS as LIGHT, THEME_FONT_VARS as COMMON } from '../../shared/vscodeThemeVars';

const block = (vars: Readonly<Record<string, string>>) =>
  Object.entries(vars)
    .map(([k, v]) => `  ${k}: ${v};`)
    .join('\n');

export function themeCss(): string {
  return [
    `:root {\n${block(COMMON)}\n${block(LIGHT)}\n  color-scheme: light;\n}`,
    `@media (prefers-color-scheme: dark) {\n:root {\n${block(DARK)}\n  color-scheme: dark;\n}\n}`,
    'html, body { margin: 0; background: var(--vscode-editor-background); color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }',
    'body { padding: 0 20px 40px; }',
    '.report-banner { margin: 12px 0 0; color: var(--vscode-descriptionForeground); font-size: 12px; overflow-wrap: anywhere; }',
  ].join('\n');
}
