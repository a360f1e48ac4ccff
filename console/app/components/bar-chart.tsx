import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { ChartFigure } from "./chart-figure.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  label: string;
  values: number[];
  color: string;
}

interface Props {
  caption: string;
  categories: string[];
  series: Series[];
  unit: string;
  /** Stack the series (parts of one whole) up to this maximum. */
  stackedMax?: number;
}

/** A grouped (or stacked) bar chart. */
export function BarChart({ caption, categories, series, unit, stackedMax }: Props) {
  const stacked = stackedMax !== undefined;
  return (
    <ChartFigure
      caption={caption}
      type="bar"
      shape={`${unit}/${stackedMax}`}
      options={{ scales: { x: { stacked }, y: { beginAtZero: true, stacked, ...(stacked ? { max: stackedMax } : {}), title: { display: true, text: unit } } } }}
      labels={categories}
      datasets={series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color }))}
    />
  );
}
