import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** Renders a Vega-Lite specification to SVG in Node, without a browser or a canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** What every chart here shares: the schema, a title, the size and its rows. */
const frame = (title: string, rows: object[]) => ({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", title, width: 560, height: 320, data: { values: rows } });

/** Latency CDFs of several series, milliseconds on a log axis. */
export function latencyCdfSpec(title: string, rows: Array<{ series: string; ms: number; percentile: number }>): TopLevelSpec {
  return {
    ...frame(title, rows),
    mark: { type: "line", point: true, interpolate: "monotone" },
    encoding: {
      x: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency from intended send time (ms, log scale)" },
      y: { field: "percentile", type: "quantitative", title: "percentile", scale: { domain: [0, 100] } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}

/** Cost per 1,000 requests (log axis) against accuracy, one labelled point per way of serving. */
export function costAccuracySpec(title: string, rows: Array<{ name: string; kind: string; usdPer1000: number; accuracy: number }>): TopLevelSpec {
  return {
    ...frame(title, rows),
    encoding: {
      x: { field: "usdPer1000", type: "quantitative", scale: { type: "log" }, title: "USD per 1,000 requests (log scale)" },
      y: { field: "accuracy", type: "quantitative", scale: { zero: false }, title: "accuracy", axis: { format: ".1%" } },
    },
    layer: [
      { mark: { type: "point", filled: true, size: 80 }, encoding: { color: { field: "kind", type: "nominal", title: null } } },
      { mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 10 }, encoding: { text: { field: "name", type: "nominal" } } },
    ],
  };
}

/** Metrics over an ordered stream, one panel each, a line per series; `markers` are vertical rules with labels. */
export function timelineSpec(
  title: string,
  rows: Array<{ arrival: number; value: number; metric: string; series: string }>,
  markers: { events: Array<{ arrival: number; label: string }>; phases: Array<{ arrival: number; label: string }> },
): TopLevelSpec {
  const { $schema, width, data } = frame(title, rows);
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const x = { field: "arrival", type: "quantitative" as const };
  const rules = [...markers.events, ...markers.phases];
  // Events are named at the top of the first panel, phases at the top of the last, so their labels cannot collide.
  const labels = (values: object[], angle: number) => ({
    data: { values },
    mark: { type: "text" as const, angle, align: (angle ? "right" : "left") as "right" | "left", baseline: "bottom" as const, dx: angle ? -2 : 3, dy: angle ? -2 : 12, fontSize: 9, color: "#555", y: 2 },
    encoding: { x, text: { field: "label", type: "nominal" as const } },
  });
  return {
    $schema,
    title,
    data,
    vconcat: metrics.map((metric, i) => ({
      width,
      height: 150,
      layer: [
        {
          transform: [{ filter: { field: "metric", equal: metric } }],
          mark: { type: "line", point: { size: 18 } },
          encoding: {
            x: { ...x, title: i === metrics.length - 1 ? "arrivals (in order)" : null },
            y: { field: "value", type: "quantitative", title: metric, scale: { zero: false }, axis: { format: ".0%" } },
            color: { field: "series", type: "nominal", title: null },
          },
        },
        { data: { values: rules }, mark: { type: "rule", strokeDash: [4, 3], color: "#888" }, encoding: { x } },
        ...(i === 0 && markers.events.length ? [labels(markers.events, 270)] : []),
        ...(i === metrics.length - 1 && markers.phases.length ? [labels(markers.phases, 0)] : []),
      ],
    })),
  };
}
