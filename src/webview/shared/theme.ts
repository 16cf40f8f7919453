/**
 * Colours and fonts from the VS Code theme (CSS variables on <html>), for the canvases that cannot use CSS. VS Code
 * swaps the variables and the body class (vscode-light, vscode-dark, vscode-high-contrast, vscode-high-contrast-light)
 * when the theme changes; `onThemeChange` re-reads them.
 */
import type { Rgba } from '../logic/color';
import { mix, parseColor, toCss } from '../logic/color';

export type ThemeKind = 'light' | 'dark' | 'hc' | 'hc-light';

export interface Theme {
  kind: ThemeKind;
  fg: string;
  bg: string;
  muted: string;
  border: string;
  grid: string;
  focus: string;
  blue: string;
  green: string;
  red: string;
  yellow: string;
  orange: string;
  purple: string;
  fontFamily: string;
  fontSize: number;
  monoFamily: string;
  rgb: { fg: Rgba; bg: Rgba; blue: Rgba; green: Rgba; red: Rgba; muted: Rgba; orange: Rgba; purple: Rgba; yellow: Rgba };
}

const DEFAULTS: Record<ThemeKind, Record<string, string>> = {
  dark: { fg: '#cccccc', bg: '#1f1f1f', blue: '#3794ff', green: '#89d185', red: '#f14c4c', yellow: '#cca700', orange: '#d18616', purple: '#b180d7', muted: '#9d9d9d', focus: '#0078d4' },
  light: { fg: '#3b3b3b', bg: '#ffffff', blue: '#1a85ff', green: '#388a34', red: '#e51400', yellow: '#bf8803', orange: '#d18616', purple: '#652d90', muted: '#717171', focus: '#0078d4' },
  hc: { fg: '#ffffff', bg: '#000000', blue: '#3794ff', green: '#89d185', red: '#f48771', yellow: '#ffd700', orange: '#d18616', purple: '#b180d7', muted: '#a0a0a0', focus: '#f38518' },
  'hc-light': { fg: '#292929', bg: '#ffffff', blue: '#0f4a85', green: '#374e06', red: '#b5200d', yellow: '#895503', orange: '#8f4e00', purple: '#5d2a8c', muted: '#5a5a5a', focus: '#006bbd' },
};

export function themeKind(body: HTMLElement = document.body): ThemeKind {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'hc-light';
  if (c.contains('vscode-high-contrast')) return 'hc';
  if (c.contains('vscode-light')) return 'light';
  if (c.contains('vscode-dark')) return 'dark';
  // no class (e.g. a plain browser): guess from the background
  const bg = parseColor(getComputedStyle(body).backgroundColor);
  return bg && bg.a > 0 && bg.r + bg.g + bg.b > 382 ? 'light' : 'dark';
}

export function readTheme(): Theme {
  const kind = themeKind();
  const cs = getComputedStyle(document.documentElement);
  const d = DEFAULTS[kind];
  const v = (name: string, fallback: string) => {
    const raw = cs.getPropertyValue(name).trim();
    return raw && parseColor(raw) ? raw : fallback;
  };
  const fg = v('--vscode-foreground', d.fg!);
  const bg = v('--vscode-editor-background', d.bg!);
  const rgb = {
    fg: parseColor(fg)!,
    bg: parseColor(bg)!,
    blue: parseColor(v('--vscode-charts-blue', d.blue!))!,
    green: parseColor(v('--vscode-charts-green', d.green!))!,
    red: parseColor(v('--vscode-charts-red', d.red!))!,
    yellow: parseColor(v('--vscode-charts-yellow', d.yellow!))!,
    orange: parseColor(v('--vscode-charts-orange', d.orange!))!,
    purple: parseColor(v('--vscode-charts-purple', d.purple!))!,
    muted: parseColor(v('--vscode-descriptionForeground', d.muted!))!,
  };
  // translucent theme colours are composited over the background so canvases get opaque colours
  for (const k of Object.keys(rgb) as (keyof typeof rgb)[]) if (k !== 'bg' && rgb[k].a < 1) rgb[k] = { ...mix(rgb.bg, { ...rgb[k], a: 1 }, rgb[k].a), a: 1 };
  const hc = kind === 'hc' || kind === 'hc-light';
  const border = hc ? v('--vscode-contrastBorder', toCss(rgb.fg)) : v('--vscode-panel-border', toCss(mix(rgb.bg, rgb.fg, 0.2)));
  const size = parseFloat(cs.getPropertyValue('--vscode-font-size')) || 13;
  return {
    kind,
    fg: toCss(rgb.fg),
    bg: toCss(rgb.bg),
    muted: toCss(rgb.muted),
    border,
    grid: toCss(mix(rgb.bg, rgb.fg, hc ? 0.5 : 0.15)),
    focus: v('--vscode-focusBorder', d.focus!),
    blue: toCss(rgb.blue),
    green: toCss(rgb.green),
    red: toCss(rgb.red),
    yellow: toCss(rgb.yellow),
    orange: toCss(rgb.orange),
    purple: toCss(rgb.purple),
    fontFamily: cs.getPropertyValue('--vscode-font-family').trim() || 'system-ui, sans-serif',
    fontSize: size,
    monoFamily: cs.getPropertyValue('--vscode-editor-font-family').trim() || 'monospace',
    rgb,
  };
}

/** Calls `cb` (debounced to one animation frame) when VS Code changes the theme. */
export function onThemeChange(cb: () => void): () => void {
  let pending = 0;
  const fire = () => {
    if (pending) return;
    pending = requestAnimationFrame(() => {
      pending = 0;
      cb();
    });
  };
  const mo = new MutationObserver(fire);
  mo.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => mo.disconnect();
}
