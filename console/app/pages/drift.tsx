import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { BarChart } from "../components/bar-chart.js";
import { LineChart } from "../components/line-chart.js";
import { Notice } from "../components/notice.js";
import { percent } from "../format.js";
import type { DriftReport, ModelInfo } from "../types.js";
import { usePoll } from "../use-poll.js";

const LIVE = "#2563eb";
const REFERENCE = "#9ca3af";
const BINS = Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`);

/** The population stability index in words (the usual rule of thumb). */
function verdict(psi: number | null, answers: number, minAnswers: number): string {
  if (psi === null) return answers < minAnswers ? `no score yet (${answers} of ${minAnswers} answers)` : "no reference for this signal";
  const level = psi < 0.1 ? "stable" : psi < 0.25 ? "moderate shift" : "significant shift";
  return `${psi.toFixed(3)} (${level})`;
}

/** A classification model's recent answers against what it did on held-out data when it was made. */
export function Drift({ api, models }: { api: Api; models: ModelInfo[] }) {
  const classifiers = models.filter((m) => m.task === "text-classification" && m.status === "ready" && !m.multi_label);
  const [chosen, setChosen] = useState("");
  const model = chosen || classifiers[0]?.name || "";
  const [minutes, setMinutes] = useState(60);
  const { data: r, error } = usePoll(() => (model ? api<DriftReport>(`/admin/models/${encodeURIComponent(model)}/drift?minutes=${minutes}`) : Promise.resolve(undefined)), 5000, [model, minutes]);
  const labels = r ? Object.keys(r.live.label_shares) : [];
  return (
    <section aria-labelledby="drift-title">
      <h2 id="drift-title">Drift</h2>
      <div class="filters">
        <label>
          Model{" "}
          <select value={model} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
            {classifiers.map((m) => (
              <option value={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          Window{" "}
          <select value={String(minutes)} onChange={(e) => setMinutes(Number((e.target as HTMLSelectElement).value))}>
            {[15, 60, 360, 1440].map((m) => (
              <option value={String(m)}>{m < 60 ? `${m} minutes` : `${m / 60} hours`}</option>
            ))}
          </select>
        </label>
      </div>
      <Notice notice={error ? { kind: "error", text: error } : !model ? { kind: "info", text: "No single-label classification model is ready." } : null} />
      {r && (
        <>
          <dl class="scores" data-testid="drift-scores">
            <dt>Answers in the window</dt>
            <dd>{r.answers}</dd>
            <dt>Label drift (PSI)</dt>
            <dd data-testid="psi-labels">{verdict(r.psi.labels, r.answers, r.min_answers)}</dd>
            <dt>Confidence drift (PSI)</dt>
            <dd data-testid="psi-confidence">{verdict(r.psi.confidence, r.answers, r.min_answers)}</dd>
            <dt>Escalation rate</dt>
            <dd>
              {percent(r.live.escalation_rate)} now, {percent(r.reference?.escalation_rate)} in the reference
            </dd>
          </dl>
          <p class="help">Reference: {r.reference ? `${r.reference.source}, ${r.reference.count} answers` : "none (a model made elsewhere has no metrics.json reference; `specialist reference` writes one)"}. Alert rule: deploy/prometheus/alerts.yml.</p>
          <div class="charts">
            <BarChart
              caption={`Share of each label: live ${labels.map((l) => `${l} ${percent(r.live.label_shares[l])}`).join(", ")}; reference ${labels.map((l) => `${l} ${percent(r.reference?.label_shares[l])}`).join(", ")}`}
              unit="share"
              categories={labels}
              series={[
                { label: "live", values: labels.map((l) => r.live.label_shares[l] ?? 0), color: LIVE },
                ...(r.reference ? [{ label: "reference", values: labels.map((l) => r.reference!.label_shares[l] ?? 0), color: REFERENCE }] : []),
              ]}
            />
            <BarChart
              caption="Calibrated confidence histogram, live against the reference"
              unit="share"
              categories={BINS}
              series={[
                { label: "live", values: r.live.confidence_histogram, color: LIVE },
                ...(r.reference?.confidence_histogram ? [{ label: "reference", values: r.reference.confidence_histogram, color: REFERENCE }] : []),
              ]}
            />
          </div>
          <LineChart
            caption={`Escalation rate (answers below the threshold) per ${r.timeline.length > 1 ? "minute" : "bucket"}, against the reference's`}
            unit="share below threshold"
            categories={r.timeline.map((t) => new Date(t.start).toLocaleTimeString())}
            series={[
              { label: "live", values: r.timeline.map((t) => t.escalation_rate ?? 0), color: LIVE },
              ...(r.reference ? [{ label: "reference", values: r.timeline.map(() => r.reference!.escalation_rate), color: REFERENCE, dashed: true }] : []),
            ]}
          />
        </>
      )}
    </section>
  );
}
