import type { LedgerStore } from "../../server/ledger/ledger-store.js";

export interface ExportedExample {
  text: string;
  label: string;
  /** Who gave the label: a person resolving a review, or the frontier model answering an escalation. */
  source: "human" | "frontier";
  model: string;
  version: string;
  specialist_label: string;
  time: string;
}

/**
 * Labelled examples from a model's ledger: escalations the frontier answered and reviews a person resolved. One
 * example per distinct input: a human label wins over the frontier's, a newer label over an older one.
 */
export async function exportTrainingData(ledger: LedgerStore, model: string): Promise<ExportedExample[]> {
  const { escalations, reviews } = await ledger.trainingRows(model);
  const byInput = new Map<string, ExportedExample>();
  for (const e of escalations) {
    byInput.set(e.inputHash, {
      text: e.inputText!,
      label: e.frontierLabel!,
      source: "frontier",
      model: e.model,
      version: e.version,
      specialist_label: e.specialistLabel,
      time: e.time,
    });
  }
  for (const r of reviews) {
    byInput.set(r.inputHash, {
      text: r.inputText!,
      label: r.humanLabel!,
      source: "human",
      model: r.model,
      version: r.version,
      specialist_label: r.specialistLabel,
      time: r.resolvedAt ?? r.time,
    });
  }
  return [...byInput.values()];
}
