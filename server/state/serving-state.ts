import type { ServerConfig } from "../config/schema.js";
import type { LedgerStore } from "../ledger/ledger-store.js";
import type { AnswerShare } from "./answer-share.js";
import type { BatchStore } from "./batch-store.js";
import type { BreakerSync } from "./breaker-sync.js";
import type { DecisionStore } from "./model-decisions.js";
import type { KillSwitch } from "./kill-switch.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { RecoveredCalls, SpendBook } from "./spend-book.js";

/**
 * The state that outlives a request: the ledger (escalations, reviews), frontier spend written ahead, escalation
 * rate limits, the kill switch, open circuits, the Batch API's records, decisions about model versions and the semantic cache's answers. Embedded (one process) or shared by a
 * fleet (PostgreSQL and Redis): the rest of the server does not know which.
 */
export interface ServingState {
  /** `embedded`, or which parts are shared: for the start-up log and /readyz. */
  kind: { ledger: "sqlite" | "postgres"; limits: "memory" | "redis" };
  ledger: LedgerStore;
  book: SpendBook;
  limiter: RateLimiter;
  killSwitch: KillSwitch;
  breakers: BreakerSync;
  batches: BatchStore;
  /** Decisions about model versions, applied at start-up. */
  decisions: DecisionStore;
  /** The semantic cache's answers, passed between replicas. */
  answers: AnswerShare;
  /** Frontier calls a stopped process left in flight, now counted at their worst case. */
  recovered: RecoveredCalls;
  close(): Promise<void>;
}

export type StateConfig = Pick<ServerConfig, "ledger" | "state" | "escalation" | "cache">;
