import { useState } from "preact/hooks";
import { messageOf, type Api } from "../api.js";
import { ConfirmButton } from "../components/confirm-button.js";
import { Notice, type NoticeState } from "../components/notice.js";
import { ms, percent, usd } from "../format.js";
import type { CanaryReport, ModelInfo, ShadowReport } from "../types.js";
import { usePoll } from "../use-poll.js";
import { TableHead } from "../components/table-head.js";

/** Served models: version, placement, a running canary (agreement, paired latency; promote or roll back) and shadow agreement. */
export function Models({ api, onChanged }: { api: Api; onChanged: () => void }) {
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const view = usePoll(
    async () => {
      const models = (await api<{ data: ModelInfo[] }>("/v1/models")).data;
      const canaries = await Promise.all(models.filter((m) => m.canary).map((m) => api<CanaryReport>(`/admin/models/${encodeURIComponent(m.name)}/canary`)));
      const shadow = await api<ShadowReport>("/admin/shadow?hours=24");
      return { models, canaries: new Map(canaries.map((c) => [c.model, c])), shadow };
    },
    3000,
    [],
  );
  const decide = async (name: string, action: "promote" | "rollback") => {
    try {
      await api(`/admin/models/${encodeURIComponent(name)}/canary/${action}`, { body: {} });
      setNotice({ kind: "info", text: action === "promote" ? `${name}: the canary is now the serving version.` : `${name}: the canary was rolled back; all traffic goes to the serving version.` });
      onChanged();
    } catch (e) {
      setNotice({ kind: "error", text: messageOf(e) });
    }
    await view.reload();
  };
  const models = view.data?.models ?? [];
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <Notice notice={view.error ? { kind: "error", text: view.error } : notice} />
      <table>
        <caption>Served models</caption>
        <TableHead columns={["Model", "Version", "Format / task", "Status", "Placement", "Threshold"]} />
        <tbody>
          {models.map((m) => (
            <tr data-model={m.name}>
              <td>{m.name}</td>
              <td data-testid={`version-${m.name}`}>{m.version ?? "–"}</td>
              <td>
                {m.format ?? "–"} / {m.task ?? "–"}
              </td>
              <td class={m.status}>{m.status === "failed" ? `failed: ${m.error?.message}` : m.status}</td>
              <td>{m.placement ? `${m.placement.provider} on ${m.placement.device}, ${m.placement.workers} × ${m.placement.threads_per_worker} threads` : "–"}</td>
              <td>{m.threshold ?? "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {[...(view.data?.canaries.values() ?? [])].map((c) => (
        <article class="canary" aria-label={`Canary of ${c.model}`} data-testid={`canary-${c.model}`}>
          <h3>
            Canary: {c.model} v{c.candidate_version} beside v{c.current_version}, {percent(c.share, 0)} of traffic
          </h3>
          <p>
            {c.requests} requests answered by the candidate ({c.candidate_errors} failed); agreement with the current version {percent(c.agreement)} on {c.compared} compared inputs.
          </p>
          <p>
            Latency on the same inputs, p50 / p95: candidate {ms(c.latency.candidate.p50_ms)} / {ms(c.latency.candidate.p95_ms)}, current {ms(c.latency.current.p50_ms)} / {ms(c.latency.current.p95_ms)}.
          </p>
          <div class="actions">
            <ConfirmButton label={`Promote v${c.candidate_version}`} question={`Make version ${c.candidate_version} serve all of ${c.model}'s traffic? Version ${c.current_version} finishes its requests and is released.`} confirmLabel="Promote" onConfirm={() => decide(c.model, "promote")} />
            <ConfirmButton danger label="Roll back" question={`Stop the canary of ${c.model}? All traffic goes back to version ${c.current_version}.`} confirmLabel="Roll back" onConfirm={() => decide(c.model, "rollback")} />
          </div>
        </article>
      ))}
      <table>
        <caption>Shadow mode, last 24 hours: the frontier's agreement with confident specialist answers</caption>
        <TableHead columns={["Model", "Version", "Calls", "Agreement", "Cost"]} />
        <tbody>
          {(view.data?.shadow.models ?? []).map((s) => (
            <tr>
              <td>{s.model}</td>
              <td>{s.version}</td>
              <td>{s.calls}</td>
              <td>{percent(s.agreement)}</td>
              <td>{usd(s.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
