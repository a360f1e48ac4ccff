import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import type { Series } from "./bar-chart.js";
import { ChartFigure } from "./chart-figure.js";

Chart.register(LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

/** A line chart over time; a series with `dashed` draws as a reference line. */
export function LineChart({ caption, categories, series, unit }: { caption: string; categories: string[]; series: Array<Series & { dashed?: boolean }>; unit: string }) {
  return (
    <ChartFigure
      caption={caption}
      type="line"
      shape={unit}
      options={{ scales: { y: { beginAtZero: true, title: { display: true, text: unit } } } }}
      labels={categories}
      datasets={series.map((s) => ({ label: s.label, data: s.values, borderColor: s.color, backgroundColor: s.color, borderDash: s.dashed ? [6, 4] : [], pointRadius: s.dashed ? 0 : 2 }))}
    />
  );
}
