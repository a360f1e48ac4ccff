import { ServingError } from "../errors/registry.js";
import type { LedgerStore, StoredReview } from "./ledger-store.js";

/** The labels a model may be given, or undefined when the model is not served (any label is then accepted). */
export type LabelsOf = (model: string) => readonly string[] | undefined;

/**
 * What a reviewer may do to the queue: label items (one or many, all or none) and undo a label. Every refusal
 * names what to fix and leaves the queue as it was.
 */
export class ReviewDesk {
  constructor(
    private readonly ledger: LedgerStore,
    private readonly labelsOf: LabelsOf,
  ) {}

  async resolve(ids: readonly number[], label: string, by: string): Promise<StoredReview[]> {
    const items = await Promise.all([...new Set(ids)].map(async (id) => (await this.ledger.getReview(id)) ?? id));
    const missing = items.filter((item): item is number => typeof item === "number");
    if (missing.length > 0) throw new ServingError("ERR_REVIEW_NOT_FOUND", `no review item ${missing.join(", ")}`);
    const found = items as StoredReview[];
    for (const item of found) {
      const labels = this.labelsOf(item.model);
      if (labels && !labels.includes(label)) {
        throw new ServingError("ERR_INVALID_REQUEST", `label '${label}' is not one of model '${item.model}' labels: ${labels.join(", ")}`);
      }
    }
    const done = found.filter((item) => item.status === "resolved");
    if (done.length > 0) throw alreadyResolved(done);
    const resolved = await this.ledger.resolveReviews(found.map((item) => item.id), label, by, new Date().toISOString());
    if (!resolved) {
      // Another reviewer got there between the read and the write.
      const now = await Promise.all(found.map((item) => this.ledger.getReview(item.id)));
      throw alreadyResolved(now.filter((item): item is StoredReview => item?.status === "resolved"));
    }
    return resolved;
  }

  async reopen(id: number): Promise<StoredReview> {
    const item = await this.ledger.getReview(id);
    if (!item) throw new ServingError("ERR_REVIEW_NOT_FOUND", `no review item ${id}`);
    const reopened = item.status === "resolved" ? await this.ledger.reopenReview(id) : undefined;
    if (!reopened) throw new ServingError("ERR_REVIEW_NOT_RESOLVED", `review item ${id} is open: there is no label to undo`);
    return reopened;
  }
}

function alreadyResolved(items: StoredReview[]): ServingError {
  const described = items.map((item) => `${item.id} (as '${item.humanLabel}' by ${item.resolvedBy} at ${item.resolvedAt})`).join(", ");
  return new ServingError("ERR_REVIEW_ALREADY_RESOLVED", `review item${items.length > 1 ? "s" : ""} ${described} already resolved; nothing was changed. Undo the earlier label first to change it.`);
}
