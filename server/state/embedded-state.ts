import type { LedgerSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";
import { Ledger } from "../ledger/ledger.js";
import { LocalAnswerShare } from "./answer-share.js";
import { LocalBreakers } from "./breaker-sync.js";
import { MemoryKillSwitch } from "./kill-switch.js";
import { MemoryRateLimiter } from "./rate-limiter.js";
import type { ServingState } from "./serving-state.js";
import { SqliteBatchStore } from "./sqlite-batch-store.js";
import { SqliteDecisionStore } from "./sqlite-decision-store.js";
import { SqliteSpendBook } from "./sqlite-spend-book.js";

/** Opens the SQLite ledger file, or fails start-up with the path and the reason. */
export function openSqliteLedger(settings: LedgerSettings): Ledger {
  try {
    return new Ledger(settings.path, settings.maxSizeMb === undefined ? {} : { maxBytes: settings.maxSizeMb * 2 ** 20 });
  } catch (error) {
    throw new ServingError("ERR_CONFIG_INVALID", `ledger.path: cannot open ${settings.path}: ${(error as Error).message}`);
  }
}

/** The records of one process in the SQLite ledger file: escalations and reviews, spend written ahead, batch jobs, model decisions. */
export function openSqliteRecords(settings: LedgerSettings): Pick<ServingState, "ledger" | "book" | "batches" | "decisions" | "recovered" | "close"> {
  const ledger = openSqliteLedger(settings);
  const book = new SqliteSpendBook(ledger.database);
  return { ledger, book, batches: new SqliteBatchStore(ledger.database), decisions: new SqliteDecisionStore(ledger.database), recovered: book.recoverPending(), close: () => ledger.close() };
}

/** One process's state: the SQLite records and in-process limits. */
export function openEmbeddedState(settings: LedgerSettings, escalationEnabled: boolean): ServingState {
  return {
    kind: { ledger: "sqlite", limits: "memory" },
    ...openSqliteRecords(settings),
    limiter: new MemoryRateLimiter(),
    killSwitch: new MemoryKillSwitch(escalationEnabled),
    breakers: new LocalBreakers(),
    answers: new LocalAnswerShare(),
  };
}
