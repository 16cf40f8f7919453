/** The VS Code theme as a ChartPalette for the shared chart builders, and their tooltips as our DOM tooltips. */
import type { ChartPalette } from '../../views/charts/palette';
import type { TipOptions } from '../../views/charts/chartTooltip';
import { mix, sequentialScale, toCss } from '../logic/color';
import type { Theme } from './theme';
import { tooltipBase, tooltipElement } from './tooltipElement';

export function chartPalette(t: Theme): ChartPalette {
  const { bg, fg, blue } = t.rgb;
  const hc = t.kind === 'hc' || t.kind === 'hc-light';
  return {
    foreground: t.fg,
    background: t.bg,
    muted: t.muted,
    grid: t.grid,
    accent: t.focus,
    na: toCss(mix(bg, fg, 0.32)),
    series: [t.blue, t.orange, t.green, t.purple, t.red, t.yellow],
    sequential: sequentialScale(mix(bg, blue, hc ? 0.25 : 0.12), blue, 5).map(toCss),
    fontFamily: t.fontFamily.replace(/"/g, "'"),
    fontSize: Math.round(t.fontSize) - 1,
  };
}

/** Tooltips as DOM elements built with text nodes (never HTML strings), styled by our sheet. */
export function domTips(): TipOptions {
  return { renderTip: tooltipElement, tooltipBase: tooltipBase() };
}
