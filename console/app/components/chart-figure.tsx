import { Chart, type ChartConfiguration, type ChartDataset } from "chart.js";
import { useEffect, useRef } from "preact/hooks";

interface Props {
  caption: string;
  type: "bar" | "line";
  options: ChartConfiguration["options"];
  /** The chart is made again when this changes (options are read only then). */
  shape: string;
  labels: string[];
  datasets: ChartDataset[];
}

/**
 * A Chart.js chart in a figure: made once per shape, its data replaced in place on every render (no animation, so
 * a polled page does not flicker). The caption, which states the numbers, is the canvas's accessible name.
 */
export function ChartFigure({ caption, type, options, shape, labels, datasets }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current!, { type, data: { labels: [], datasets: [] }, options: { animation: false, responsive: true, maintainAspectRatio: false, ...options } });
    return () => chart.current?.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [type, shape]);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = datasets;
    c.update();
  });
  return (
    <figure class="chart">
      <div class="canvas-box">
        <canvas ref={canvas} role="img" aria-label={caption} />
      </div>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
