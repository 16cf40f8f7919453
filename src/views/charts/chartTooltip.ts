/**
 * Tooltip contents as text rows. The builders hand them to a renderer: by default an HTML string with every piece
 * escaped (echarts inserts string tooltips as HTML); the webview passes a renderer that builds DOM elements instead,
 * and its own tooltip settings (CSS class, no inline styles).
 */
import { escapeHtml } from '../../shared/text';

export interface TipContent {
  title: string;
  rows: [string, string][];
}

export interface TipOptions {
  /** returns what an echarts tooltip formatter may return: a string, or (in the webview) an element */
  renderTip?: (t: TipContent) => unknown;
  /** extra tooltip settings merged into every tooltip block */
  tooltipBase?: Record<string, unknown>;
}

export function tipHtml(t: TipContent): string {
  const rows = t.rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<div><strong>${escapeHtml(t.title)}</strong>${rows ? `<table>${rows}</table>` : ''}</div>`;
}

/** The tooltip block of an option: item trigger, confined, contents through the renderer. */
export function itemTooltip(opts: TipOptions | undefined, content: (params: unknown) => TipContent | null): Record<string, unknown> {
  const render = opts?.renderTip ?? tipHtml;
  return {
    confine: true,
    ...opts?.tooltipBase,
    trigger: 'item',
    formatter: (params: unknown) => {
      const c = content(params);
      return c ? render(c) : '';
    },
  };
}
