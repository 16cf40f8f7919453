/** echarts, imported module by module to keep the bundle small: heatmap, bar, line; canvas for display, SVG for export. */
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, TitleComponent, TooltipComponent, VisualMapPiecewiseComponent } from 'echarts/components';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';

echarts.use([HeatmapChart, BarChart, LineChart, GridComponent, TitleComponent, TooltipComponent, VisualMapPiecewiseComponent, CanvasRenderer, SVGRenderer]);

export { echarts };
export type EChartsType = echarts.EChartsType;
export type EChartsOption = echarts.EChartsCoreOption;
