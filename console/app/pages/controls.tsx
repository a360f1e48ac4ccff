import { useState } from "preact/hooks";
import { messageOf, type Api } from "../api.js";
import { ConfirmButton } from "../components/confirm-button.js";
import { Notice, type NoticeState } from "../components/notice.js";
import type { EscalationStatus } from "../types.js";
import { usePoll } from "../use-poll.js";
import { TableHead } from "../components/table-head.js";

/** The kill switch and the providers' circuit breakers. */
export function Controls({ api }: { api: Api }) {
  const status = usePoll(() => api<EscalationStatus>("/admin/escalation"), 2000, []);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const s = status.data;
  const flip = async (enabled: boolean) => {
    try {
      await api("/admin/escalation", { body: { enabled } });
      setNotice({ kind: "info", text: enabled ? "Escalation is on." : "Escalation is off: low-confidence answers are returned flagged, nothing is sent to a frontier." });
    } catch (e) {
      setNotice({ kind: "error", text: messageOf(e) });
    }
    await status.reload();
  };
  return (
    <section aria-labelledby="controls-title">
      <h2 id="controls-title">Controls</h2>
      <Notice notice={status.error ? { kind: "error", text: status.error } : notice} />
      {s && (
        <>
          <p>
            Escalation is{" "}
            <strong data-testid="escalation-state" class={s.enabled ? "on" : "off"}>
              {s.enabled ? "on" : "off"}
            </strong>
            . Prices: {s.price_table}.
          </p>
          {s.enabled ? (
            <ConfirmButton
              danger
              label="Turn escalation off"
              question="Stop sending any request to a frontier model? Callers keep getting the specialist's answers, flagged as degraded."
              confirmLabel="Turn off"
              onConfirm={() => flip(false)}
            />
          ) : (
            <ConfirmButton label="Turn escalation on" question="Send low-confidence requests to the frontier models again (within each tenant's budget)?" confirmLabel="Turn on" onConfirm={() => flip(true)} />
          )}
          <table>
            <caption>Frontier providers</caption>
            <TableHead columns={["Provider", "Kind", "Model", "Circuit breaker"]} />
            <tbody>
              {s.providers.map((p) => (
                <tr>
                  <td>{p.name}</td>
                  <td>{p.kind}</td>
                  <td>{p.model}</td>
                  <td class={`breaker ${p.breaker}`}>{p.breaker === "closed" ? "closed (calls go through)" : p.breaker === "open" ? "open (calls refused)" : "half open (probing)"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
