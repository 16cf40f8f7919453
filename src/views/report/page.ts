/**
 * One self-contained HTML file: the panel's own bundle (with the report's static host in front of it) and the
 * embedded ReportData, under a CSP that lets exactly these inline blocks run and forbids every network access.
 */
import { createHash } from 'node:crypto';
import { REPORT_DATA_ID, type ReportData } from '../../shared/report';
import { themeCss } from './themeCss';
import { NO_NETWORK_DIRECTIVES } from '../../shared/csp';
import { escapeHtml } from '../../shared/text';

const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** JSON that cannot end its <script> element early: every '<' (and the JS line separators) escaped. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Makes a script's text safe inside <script>...</script>, where "</script" would end the element: in the bundle it can
 * only occur in string, template or regular-expression literals, where "<\/" means the same characters. "<!--" would
 * put the parser in its escaped state and has no rewriting that is valid in every literal, so it is refused.
 */
export function scriptSafeCode(code: string): string {
  if (code.includes('<!--')) throw new Error('the report bundle contains "<!--" and cannot be inlined safely');
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

/** The line above the panel: what this file is, when and from what it was written, what it leaves out. */
function banner(data: ReportData): string {
  const r = data.result;
  const when = data.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const layers = !data.layers
    ? 'no per-layer tables'
    : data.layers.omitted
      ? `per-layer tables of ${data.layers.pairs.length} of ${r.pairs.length} pairs (the nearest first)`
      : `per-layer tables of all ${r.pairs.length} pairs`;
  const parts = [
    `written ${when} by modeldiff ${r.tool.version}`,
    `from ${data.outDir}`,
    layers,
    ...(data.differencesCap !== undefined ? [`lists of differing keys cut to ${data.differencesCap} per pair (the counts are exact)`] : []),
    data.analysis ? 'with the analyses' : 'without the analyses',
  ];
  return `<p class="report-banner"><strong>modeldiff report</strong> · ${parts.map(escapeHtml).join(' · ')}</p>`;
}

export function reportHtml(data: ReportData, bundle: string, title: string): string {
  const css = themeCss();
  const code = scriptSafeCode(bundle);
  const csp = [
    "default-src 'none'",
    `script-src ${cspHash(code)}`,
    `style-src ${cspHash(css)}`,
    'img-src data: blob:',
    'font-src data:',
    ...NO_NETWORK_DIRECTIVES,
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="modeldiff ${escapeHtml(data.result.tool.version)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body data-view="compare">',
    banner(data),
    '<div id="app"></div>',
    `<script type="application/json" id="${REPORT_DATA_ID}">${scriptSafeJson(data)}</script>`,
    `<script>${code}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
