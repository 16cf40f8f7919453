/**
 * Server-side rendering of the chart options to SVG text (the CLI's figure files, tests). Registers what the builders
 * of this folder use; the builders themselves register nothing.
 */
import * as echarts from 'echarts/core';
import { BarChart, GraphChart, HeatmapChart, LineChart, LinesChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapContinuousComponent, VisualMapPiecewiseComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, GraphChart, HeatmapChart, LineChart, LinesChart, ScatterChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapContinuousComponent, VisualMapPiecewiseComponent, SVGRenderer]);

export function renderSvg(option: Record<string, unknown>, width: number, height: number): string {
  const chart = echarts.init(null as unknown as Parameters<typeof echarts.init>[0], null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ ...option, animation: false });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
