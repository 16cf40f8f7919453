/**
 * echarts, imported module by module to keep the bundle small: heatmap, bar, line, and for the analysis views scatter,
 * lines (dendrogram), graph (spanning tree) and custom (the dendrogram beside the heatmap); canvas for display, SVG for export.
 */
import * as echarts from 'echarts/core';
import { BarChart, CustomChart, GraphChart, HeatmapChart, LineChart, LinesChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapContinuousComponent, VisualMapPiecewiseComponent } from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';

echarts.use([
  HeatmapChart,
  CustomChart,
  BarChart,
  LineChart,
  ScatterChart,
  LinesChart,
  GraphChart,
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  VisualMapPiecewiseComponent,
  CanvasRenderer,
  SVGRenderer,
]);

export { echarts };
export type EChartsType = echarts.EChartsType;
export type EChartsOption = echarts.EChartsCoreOption;
