import type { EChartsType } from './echarts';

/**
 * Keeps `data-cell-origin` (centre of cell [0, 0]) and `data-cell-step` (to cell [1, 1]) of a heatmap's element up to
 * date after every render, for automation and assistive tooling that must find a cell on the canvas.
 */
export function publishCellGeometry(chart: EChartsType, el: HTMLElement): void {
  chart.off('finished');
  chart.on('finished', () => {
    const p0 = chart.convertToPixel({ gridIndex: 0 }, [0, 0]) as number[] | undefined;
    const p1 = chart.convertToPixel({ gridIndex: 0 }, [1, 1]) as number[] | undefined;
    if (p0 && p1) {
      el.dataset.cellOrigin = `${p0[0]},${p0[1]}`;
      el.dataset.cellStep = `${p1[0]! - p0[0]!},${p1[1]! - p0[1]!}`;
    }
  });
}
