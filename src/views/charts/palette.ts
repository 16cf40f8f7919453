/**
 * Colours and font for the analysis charts, as plain strings so the same option builders serve the webview (colours
 * from the VS Code theme, see src/webview/shared/chartPalette.ts) and the CLI's SVG files (LIGHT_PALETTE, for papers).
 */
export interface ChartPalette {
  foreground: string;
  background: string;
  /** secondary text: axis names, subtitles */
  muted: string;
  /** axis lines and split lines */
  grid: string;
  /** the selected pair, a highlighted model */
  accent: string;
  /** cells and bars without a value ("n/a") */
  na: string;
  /** one colour per series (parents of a recipe, ...), cycled */
  series: string[];
  /** low -> high, for heatmaps */
  sequential: string[];
  fontFamily: string;
  fontSize: number;
}

export const LIGHT_PALETTE: ChartPalette = {
  foreground: '#222222',
  background: '#ffffff',
  muted: '#666666',
  grid: '#dddddd',
  accent: '#d35400',
  na: '#b8b8b8',
  series: ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'],
  sequential: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'],
  fontFamily: 'Helvetica, Arial, sans-serif',
  fontSize: 12,
};

export function seriesColor(p: ChartPalette, i: number): string {
  return p.series[i % p.series.length] ?? p.foreground;
}

/** Common text and background settings of every option. */
export function baseOption(p: ChartPalette): Record<string, unknown> {
  return {
    animation: false,
    backgroundColor: p.background,
    textStyle: { fontFamily: p.fontFamily, color: p.foreground, fontSize: p.fontSize },
  };
}

export function titleOption(p: ChartPalette, text: string, subtext?: string): Record<string, unknown> {
  return {
    text,
    subtext: subtext ?? '',
    left: 8,
    top: 4,
    textStyle: { color: p.foreground, fontSize: p.fontSize + 2, fontWeight: 'bold', fontFamily: p.fontFamily },
    subtextStyle: { color: p.muted, fontSize: p.fontSize - 1, fontFamily: p.fontFamily },
  };
}

export function axisStyle(p: ChartPalette): Record<string, unknown> {
  return {
    nameTextStyle: { color: p.muted },
    axisLine: { lineStyle: { color: p.grid } },
    axisTick: { lineStyle: { color: p.grid } },
    axisLabel: { color: p.foreground },
    splitLine: { lineStyle: { color: p.grid } },
  };
}

/**
 * The visual maps of a heatmap whose series 0 holds values ([x, y, value]) and series 1 the n/a cells: a horizontal
 * colour scale under the chart, and one grey piece without a legend.
 */
export function heatmapScales(p: ChartPalette, min: number, max: number, opts: { length: number; colors?: string[]; label: (v: number) => string }): Record<string, unknown>[] {
  return [
    {
      type: 'continuous',
      seriesIndex: 0,
      dimension: 2,
      min,
      max: max > min ? max : min + 1,
      calculable: false,
      orient: 'horizontal',
      left: 'center',
      bottom: 4,
      itemHeight: opts.length,
      itemWidth: 10,
      text: [opts.label(max), opts.label(min)],
      textStyle: { color: p.foreground },
      inRange: { color: opts.colors ?? p.sequential },
    },
    { type: 'piecewise', seriesIndex: 1, dimension: 2, show: false, pieces: [{ value: 0, color: p.na }] },
  ];
}
