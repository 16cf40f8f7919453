/** A chart of an analysis card: a ChartCard nested in the card, with PNG/SVG and the chart's data as CSV. */
import { ChartCard, button } from '../../../shared/chartCard';
import type { Exporter } from '../../../shared/chartCard';

export interface SubChartSpec {
  title: string;
  /** id of the nested card; the chart element gets `chartId` */
  cardId: string;
  chartId: string;
  exportName: () => string;
  /** CSV text of what the chart shows, null when there is nothing */
  csv: () => string | null;
}

export function subChart(spec: SubChartSpec, exporter: Exporter, background: () => string): ChartCard {
  const card = new ChartCard(spec.title, spec.exportName, exporter, background, { id: spec.cardId, class: 'md-subcard' });
  card.chartEl.id = spec.chartId;
  card.addTools(
    button('CSV', () => {
      const text = spec.csv();
      if (text !== null) void exporter(`${spec.exportName()}.csv`, 'csv', text);
    }, { title: 'Export the data as CSV' }),
  );
  return card;
}
