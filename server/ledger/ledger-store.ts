/** What escalations and review items both record: who asked, which model, the input and the specialist's answer. */
export interface ReviewRecord {
  time: string;
  tenant: string;
  model: string;
  version: string;
  inputHash: string;
  inputText: string | null;
  specialistLabel: string;
  specialistConfidence: number;
  frontierLabel: string | null;
}

export interface EscalationRecord extends ReviewRecord {
  reason: string;
  provider: string | null;
  frontierModel: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number;
  latencyMs: number;
  /** `answered`, or `degraded` with the cause in `failure` and what happened in `message`. */
  outcome: "answered" | "degraded";
  failure: string | null;
  message: string | null;
  prompt: string | null;
  priceVersion: string | null;
  /** The HTTP request that escalated; its frontier calls carry the same id. */
  requestId: string | null;
  /** Frontier calls made (tries and retries). */
  calls: number;
  /** Where the token counts came from (`provider`, `counted`, `reserved`); null when no call was billed. */
  usageSource: string | null;
}

/** The columns each record is written with, in both ledgers. */
export const REVIEW_COLUMNS = [
  "time", "tenant", "model", "version", "inputHash", "inputText", "specialistLabel", "specialistConfidence", "frontierLabel",
] as const satisfies ReadonlyArray<keyof ReviewRecord>;
export const ESCALATION_COLUMNS = [
  ...REVIEW_COLUMNS, "reason", "provider", "frontierModel", "inputTokens", "outputTokens", "costUsd", "latencyMs", "outcome",
  "failure", "message", "prompt", "priceVersion", "requestId", "calls", "usageSource",
] as const satisfies ReadonlyArray<keyof EscalationRecord>;

export interface StoredReview extends ReviewRecord {
  id: number;
  status: "open" | "resolved";
  humanLabel: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

export interface ListQuery {
  tenant?: string;
  model?: string;
  /** Only rows with a smaller id (pagination, newest first). */
  before?: number;
  limit: number;
}

export interface TrainingRows {
  escalations: Array<EscalationRecord & { id: number }>;
  reviews: StoredReview[];
}

/** Shadow calls of one model version: how many, how many the frontier answered and agreed with, their latencies sorted. */
export interface ShadowRow {
  model: string;
  version: string;
  calls: number;
  answered: number;
  agreed: number;
  costUsd: number;
  latenciesMs: number[];
}

/**
 * The durable record of escalations and review items. Embedded: one SQLite file (`Ledger`); a fleet: PostgreSQL
 * (`PostgresLedger`). A write resolves once it is committed, so a row acknowledged to a caller survives a crash.
 */
export interface LedgerStore {
  recordEscalation(record: EscalationRecord): Promise<number>;
  addReview(record: ReviewRecord): Promise<number>;
  /** Newest first. */
  listEscalations(query: ListQuery): Promise<Array<EscalationRecord & { id: number }>>;
  listReviews(query: ListQuery & { status?: "open" | "resolved" }): Promise<StoredReview[]>;
  getReview(id: number): Promise<StoredReview | undefined>;
  /**
   * Resolve open items with a human's label, all or none: undefined (and nothing changed) when any of them is
   * missing or no longer open, so a stale screen cannot overwrite another reviewer's label.
   */
  resolveReviews(ids: readonly number[], label: string, by: string, time: string): Promise<StoredReview[] | undefined>;
  /** Undo a resolution: the item is open again with no label; undefined when it is missing or not resolved. */
  reopenReview(id: number): Promise<StoredReview | undefined>;
  /** Rows for `export`: answered classification escalations (shadow calls too) and resolved reviews of a model that kept their input text. */
  trainingRows(model: string): Promise<TrainingRows>;
  /** Shadow calls per model since a time (ISO). */
  shadowRows(since: string): Promise<ShadowRow[]>;
  close(): Promise<void>;
}
