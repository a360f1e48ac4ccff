import type { LedgerSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";
import { Ledger } from "../ledger/ledger.js";
import { LocalBreakers } from "./breaker-sync.js";
import { MemoryKillSwitch } from "./kill-switch.js";
import { MemoryRateLimiter } from "./rate-limiter.js";
import type { ServingState } from "./serving-state.js";
import { SqliteBatchStore } from "./sqlite-batch-store.js";
import { SqliteSpendBook } from "./sqlite-spend-book.js";

/** Opens the SQLite ledger file, or fails start-up with the path and the reason. */
export function openSqliteLedger(settings: LedgerSettings): Ledger {
  try {
    return new Ledger(settings.path, settings.maxSizeMb === undefined ? {} : { maxBytes: settings.maxSizeMb * 2 ** 20 });
  } catch (error) {
    throw new ServingError("ERR_CONFIG_INVALID", `ledger.path: cannot open ${settings.path}: ${(error as Error).message}`);
  }
}

/** One process's state: the SQLite ledger file (spend written ahead in it, batch records) and in-process limits. */
export function openEmbeddedState(settings: LedgerSettings, escalationEnabled: boolean): ServingState {
  const ledger = openSqliteLedger(settings);
  const book = new SqliteSpendBook(ledger.database);
  const recovered = book.recoverPending();
  return {
    kind: { ledger: "sqlite", limits: "memory" },
    ledger,
    book,
    limiter: new MemoryRateLimiter(),
    killSwitch: new MemoryKillSwitch(escalationEnabled),
    breakers: new LocalBreakers(),
    batches: new SqliteBatchStore(ledger.database),
    recovered,
    close: () => ledger.close(),
  };
}
