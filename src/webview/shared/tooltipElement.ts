/**
 * echarts tooltips as DOM elements built with textContent: the formatter returns an element, so echarts never parses
 * our strings as HTML (its default formatter and string formatters go through innerHTML), and no inline style
 * attribute is created (CSP without 'unsafe-inline').
 */
import type { TooltipContent } from '../logic/cellTooltip';
import { h } from './dom';

export function tooltipElement(t: TooltipContent): HTMLElement {
  return h(
    'div',
    { class: `md-tip${t.tone ? ' md-tip-' + t.tone : ''}` },
    h('div', { class: 'md-tip-title' }, t.title),
    t.rows.length
      ? h(
          'table',
          { class: 'md-tip-rows' },
          h('tbody', null, ...t.rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))),
        )
      : null,
  );
}

/** Tooltip settings shared by every chart: DOM content, confined to the chart, themed by CSS classes. */
export function tooltipBase(): Record<string, unknown> {
  return {
    renderMode: 'html',
    confine: true,
    className: 'md-echarts-tooltip',
    backgroundColor: 'transparent',
    borderWidth: 0,
    padding: 0,
    extraCssText: 'box-shadow:none;',
    transitionDuration: 0,
  };
}
