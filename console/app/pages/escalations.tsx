import type { Api } from "../api.js";
import { BarChart } from "../components/bar-chart.js";
import { Notice } from "../components/notice.js";
import { ms, percent, time, usd } from "../format.js";
import type { EscalationRecord, EscalationStatus, Me } from "../types.js";
import { usePoll } from "../use-poll.js";
import { TableHead } from "../components/table-head.js";

const POLL_MS = 2000;
const share = (usdValue: number, budget: number) => (budget > 0 ? Math.min(100, (usdValue / budget) * 100) : 0);

/** Escalations as they happen (newest first, polled), why each one degraded, and each tenant's spend today against its budget. */
export function Escalations({ api, me }: { api: Api; me: Me }) {
  const admin = me.role === "admin";
  const records = usePoll(() => api<{ records: EscalationRecord[] }>("/v1/escalations?limit=100"), POLL_MS, []);
  const spend = usePoll(
    async () => {
      if (admin) return (await api<EscalationStatus>("/admin/escalation")).tenants;
      const self = await api<Me>("/v1/me");
      return [{ id: self.id, spent_usd: self.spend.spent_usd, reserved_usd: self.spend.reserved_usd, daily_budget_usd: self.daily_budget_usd }];
    },
    POLL_MS,
    [],
  );
  const tenants = spend.data ?? [];
  const rows = records.data?.records ?? [];
  return (
    <section aria-labelledby="escalations-title">
      <h2 id="escalations-title">Escalations</h2>
      <Notice notice={records.error || spend.error ? { kind: "error", text: (records.error ?? spend.error)! } : null} />
      <BarChart
        caption={`Frontier spend today (UTC) as a share of each tenant's daily budget: ${tenants.map((t) => `${t.id} ${usd(t.spent_usd)} of ${usd(t.daily_budget_usd)}`).join(", ")}`}
        unit="% of daily budget"
        stackedMax={100}
        categories={tenants.map((t) => t.id)}
        series={[
          { label: "spent", values: tenants.map((t) => share(t.spent_usd, t.daily_budget_usd)), color: "#2563eb" },
          { label: "reserved (calls in flight)", values: tenants.map((t) => share(t.reserved_usd, t.daily_budget_usd)), color: "#93c5fd" },
        ]}
      />
      <table data-testid="escalation-table">
        <caption>Newest first, refreshed every {POLL_MS / 1000} s</caption>
        <TableHead columns={["Time", admin && "Tenant", "Model", "Reason", "Specialist", "Frontier", "Outcome", "Cost", "Latency"]} />
        <tbody>
          {rows.map((r) => (
            <tr data-outcome={r.outcome}>
              <td>{time(r.time)}</td>
              {admin && <td>{r.tenant}</td>}
              <td>{r.model}</td>
              <td>{r.reason}</td>
              <td>
                {r.specialist_label} ({percent(r.specialist_confidence, 0)})
              </td>
              <td>{r.frontier_label ?? "–"}</td>
              <td class={r.outcome}>{r.outcome === "answered" ? `answered by ${r.provider}` : `degraded: ${r.failure}${r.message ? ` (${r.message})` : ""}`}</td>
              <td>{usd(r.cost_usd)}</td>
              <td>{ms(r.latency_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
