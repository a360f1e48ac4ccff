import type { LedgerSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";
import { Ledger } from "../ledger/ledger.js";
import { MemoryRateLimiter, type RateLimiter } from "./rate-limiter.js";
import type { SpendBook } from "./spend-book.js";
import { SqliteSpendBook, type RecoveredCalls } from "./sqlite-spend-book.js";

/** The state that outlives a request: the ledger (escalations, reviews), frontier spend, escalation rate limits. */
export interface ServingState {
  ledger: Ledger;
  book: SpendBook;
  limiter: RateLimiter;
  /** Frontier calls the last process left in flight, now counted at their worst case. */
  recovered: RecoveredCalls;
  close(): void;
}

/** One process's state: the SQLite ledger file (spend written ahead in it) and in-process rate limits. */
export function openEmbeddedState(settings: LedgerSettings): ServingState {
  let ledger: Ledger;
  try {
    ledger = new Ledger(settings.path, settings.maxSizeMb === undefined ? {} : { maxBytes: settings.maxSizeMb * 2 ** 20 });
  } catch (error) {
    throw new ServingError("ERR_CONFIG_INVALID", `ledger.path: cannot open ${settings.path}: ${(error as Error).message}`);
  }
  const book = new SqliteSpendBook(ledger.database);
  const recovered = book.recoverPending();
  return { ledger, book, limiter: new MemoryRateLimiter(), recovered, close: () => ledger.close() };
}
