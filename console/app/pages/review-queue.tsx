import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { messageOf, type Api } from "../api.js";
import { Notice, type NoticeState } from "../components/notice.js";
import { percent, time } from "../format.js";
import type { Me, ModelInfo, ReviewItem } from "../types.js";
import { usePoll } from "../use-poll.js";
import { TableHead } from "../components/table-head.js";

interface Props {
  api: Api;
  me: Me;
  models: ModelInfo[];
}

const HELP = "Keys: 1–9 label the current item, s skips, u undoes your last label, j/k move, x selects for bulk.";

/**
 * The human review queue. A reviewer labels the current item with one key (the model's labels, numbered), skips
 * or undoes; a selection can be resolved in bulk. Every refusal from the server is shown and changes nothing.
 */
export function ReviewQueue({ api, me, models }: Props) {
  const admin = me.role === "admin";
  const [status, setStatus] = useState<"open" | "resolved">("open");
  const [model, setModel] = useState("");
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [undo, setUndo] = useState<number[]>([]);
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const query = `status=${status}&limit=200${model ? `&model=${encodeURIComponent(model)}` : ""}`;
  const { data, error, reload } = usePoll(() => api<{ items: ReviewItem[] }>(`${admin ? "/admin/reviews" : "/v1/reviews"}?${query}`), 5000, [query]);
  const items = data?.items ?? [];
  const current = items[Math.min(cursor, items.length - 1)];
  const labelsOf = useMemo(() => new Map(models.map((m) => [m.name, m.labels ?? []])), [models]);
  const labels = current ? (labelsOf.get(current.model) ?? []) : [];

  const act = async (work: () => Promise<string>) => {
    try {
      setNotice({ kind: "info", text: await work() });
    } catch (e) {
      setNotice({ kind: "error", text: messageOf(e) });
    }
    await reload();
  };

  const label = (item: ReviewItem, value: string) =>
    act(async () => {
      await api(`/admin/reviews/${item.id}`, { body: { label: value } });
      setUndo((u) => [...u, item.id]);
      return `Labelled #${item.id} as '${value}'. Press u to undo.`;
    });

  const undoLast = () => {
    const id = undo[undo.length - 1];
    if (id === undefined) return setNotice({ kind: "error", text: "Nothing to undo: you have not labelled an item on this page." });
    return act(async () => {
      await api(`/admin/reviews/${id}/reopen`, { body: {} });
      setUndo((u) => u.slice(0, -1));
      return `Item #${id} is open again.`;
    });
  };

  const resolveSelected = (value: string) =>
    act(async () => {
      const ids = [...selected];
      await api("/admin/reviews/resolve", { body: { ids, label: value } });
      setSelected(new Set());
      setUndo((u) => [...u, ...ids]);
      return `Resolved ${ids.length} item${ids.length > 1 ? "s" : ""} as '${value}'.`;
    });

  const toggle = (id: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  // The listener is bound once and reads the handler of the latest render. Re-bound in an effect, which runs after
  // paint, a key pressed between the queue moving on and the next frame labelled the item shown before.
  const onKey = useRef<(event: KeyboardEvent) => void>(() => undefined);
  onKey.current = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) || document.querySelector("dialog[open]")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "ArrowDown") return setCursor((c) => Math.min(c + 1, items.length - 1));
    if (event.key === "ArrowUp") return setCursor((c) => Math.max(c - 1, 0));
    const key = event.key.toLowerCase();
    // Shortcuts are letters and digits: Space, Enter and Tab keep their meaning on buttons, links and checkboxes.
    if (!/^[a-z0-9]$/.test(key)) return;
    if (!admin) return setNotice({ kind: "error", text: `Tenant '${me.id}' has the user role: review items can be labelled with an admin key only.` });
    event.preventDefault();
    if (/^[1-9]$/.test(key)) {
      if (!current) return setNotice({ kind: "error", text: "The queue is empty: there is nothing to label." });
      if (status !== "open") return setNotice({ kind: "error", text: "These items are resolved: press u to undo your last label, or show the open items." });
      const value = labels[Number(key) - 1];
      if (value === undefined) return setNotice({ kind: "error", text: `No label on key ${key}: model '${current.model}' has ${labels.map((l, i) => `${i + 1} ${l}`).join(", ")}.` });
      return void label(current, value);
    }
    if (key === "s") {
      if (!current) return;
      setCursor((c) => Math.min(c + 1, items.length - 1));
      return setNotice({ kind: "info", text: `Skipped #${current.id}.` });
    }
    if (key === "u") return void undoLast();
    if (key === "j") return setCursor((c) => Math.min(c + 1, items.length - 1));
    if (key === "k") return setCursor((c) => Math.max(c - 1, 0));
    if (key === "x" && current) return toggle(current.id);
      setNotice({ kind: "error", text: `Key '${event.key}' does nothing here. ${HELP}` });
  };
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onKey.current(event);
    document.addEventListener("keydown", listener);
    return () => document.removeEventListener("keydown", listener);
  }, []);

  const classifiers = models.filter((m) => m.task?.endsWith("classification"));
  const bulkLabels = [...new Set([...selected].map((id) => items.find((i) => i.id === id)?.model).flatMap((m) => (m ? (labelsOf.get(m) ?? []) : [])))];
  return (
    <section aria-labelledby="reviews-title">
      <h2 id="reviews-title">Review queue</h2>
      <div class="filters">
        <label>
          Model{" "}
          <select value={model} onChange={(e) => (setModel((e.target as HTMLSelectElement).value), setCursor(0))}>
            <option value="">all models</option>
            {classifiers.map((m) => (
              <option value={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value as "open" | "resolved"), setCursor(0))}>
            <option value="open">open</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <span class="count" data-testid="review-count">
          {items.length} item{items.length === 1 ? "" : "s"}
        </span>
      </div>
      {admin ? <p class="help">{HELP}</p> : <p class="help">Your tenant's items, read only: an admin labels them.</p>}
      <Notice notice={error ? { kind: "error", text: error } : notice} />
      {current && (
        <article class="current" aria-label={`Review item ${current.id}`} data-testid="current-item">
          <header>
            #{current.id} · {current.model} v{current.version} · {current.tenant} · {time(current.time)}
          </header>
          <blockquote>{current.input_text ?? "(input not stored: ledger.storeInputs is off)"}</blockquote>
          <p>
            Specialist: <strong>{current.specialist_label}</strong> at {percent(current.specialist_confidence)}
            {" · "}Frontier: <strong>{current.frontier_label ?? "no answer"}</strong>
            {current.human_label && (
              <>
                {" · "}Human: <strong>{current.human_label}</strong> ({current.resolved_by})
              </>
            )}
          </p>
          {admin && status === "open" && (
            <div class="actions" role="group" aria-label="Label this item">
              {labels.map((l, i) => (
                <button type="button" onClick={() => void label(current, l)}>
                  <kbd>{i + 1}</kbd> {l}
                </button>
              ))}
              <button type="button" onClick={() => setCursor((c) => Math.min(c + 1, items.length - 1))}>
                <kbd>s</kbd> skip
              </button>
              <button type="button" onClick={() => void undoLast()} disabled={undo.length === 0}>
                <kbd>u</kbd> undo
              </button>
            </div>
          )}
        </article>
      )}
      {admin && selected.size > 0 && (
        <div class="bulk" role="group" aria-label="Resolve selected items">
          {selected.size} selected:{" "}
          {bulkLabels.map((l) => (
            <button type="button" onClick={() => void resolveSelected(l)}>
              resolve as {l}
            </button>
          ))}
        </div>
      )}
      <table>
        <caption class="visually-hidden">Review items, newest first</caption>
        <TableHead columns={[admin && "Select", "#", "Model", "Input", "Specialist", "Frontier", status === "open" ? "Received" : "Human", admin && status === "resolved" && "Undo"]} />
        <tbody>
          {items.map((item, i) => (
            <tr aria-current={item === current ? "true" : undefined} class={item === current ? "current-row" : ""} onClick={() => setCursor(i)} data-review-id={item.id}>
              {admin && (
                <td>
                  <input type="checkbox" aria-label={`select item ${item.id}`} checked={selected.has(item.id)} onChange={() => toggle(item.id)} />
                </td>
              )}
              <td>{item.id}</td>
              <td>{item.model}</td>
              <td class="snippet">{(item.input_text ?? "").slice(0, 90)}</td>
              <td>
                {item.specialist_label} ({percent(item.specialist_confidence, 0)})
              </td>
              <td>{item.frontier_label ?? "–"}</td>
              <td>{status === "open" ? time(item.time) : `${item.human_label} (${item.resolved_by})`}</td>
              {admin && status === "resolved" && (
                <td>
                  <button type="button" onClick={() => void act(async () => (await api(`/admin/reviews/${item.id}/reopen`, { body: {} }), `Item #${item.id} is open again.`))}>
                    reopen
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
