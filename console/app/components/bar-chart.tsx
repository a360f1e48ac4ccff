import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/** A grouped bar chart (Chart.js), redrawn in place when its data change; the caption is its accessible name. */
interface Props {
  caption: string;
  categories: string[];
  series: Series[];
  unit: string;
  /** Stack the series (parts of one whole) up to this maximum. */
  stackedMax?: number;
}

export function BarChart({ caption, categories, series, unit, stackedMax }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: stackedMax !== undefined },
          y: { beginAtZero: true, stacked: stackedMax !== undefined, ...(stackedMax !== undefined ? { max: stackedMax } : {}), title: { display: true, text: unit } },
        },
      },
    });
    return () => chart.current?.destroy();
  }, [unit, stackedMax]);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = categories;
    c.data.datasets = series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color }));
    c.update();
  }, [categories, series]);
  return (
    <figure class="chart">
      <div class="canvas-box">
        <canvas ref={canvas} role="img" aria-label={caption} />
      </div>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
