import { ServingError } from "../errors/registry.js";
import type { LedgerStore } from "../ledger/ledger-store.js";
import { LocalAnswerShare, type AnswerShare } from "./answer-share.js";
import type { BatchStore } from "./batch-store.js";
import type { DecisionStore } from "./model-decisions.js";
import { PostgresDecisionStore } from "./postgres/pg-decision-store.js";
import { LocalBreakers, type BreakerSync } from "./breaker-sync.js";
import { openSqliteRecords } from "./embedded-state.js";
import { MemoryKillSwitch, type KillSwitch } from "./kill-switch.js";
import { PostgresBatchStore } from "./postgres/pg-batch-store.js";
import { PostgresDatabase } from "./postgres/pg-database.js";
import { PostgresLedger } from "./postgres/pg-ledger.js";
import { PostgresSpendBook } from "./postgres/pg-spend-book.js";
import { MemoryRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { RedisAnswerShare } from "./redis/redis-answer-share.js";
import { RedisBreakerSync } from "./redis/redis-breaker-sync.js";
import { RedisConnection } from "./redis/redis-connection.js";
import { RedisKillSwitch } from "./redis/redis-kill-switch.js";
import { RedisRateLimiter } from "./redis/redis-rate-limiter.js";
import type { ServingState, StateConfig } from "./serving-state.js";
import type { RecoveredCalls, SpendBook } from "./spend-book.js";

type Log = (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

const unreachable = (path: string, error: unknown) =>
  new ServingError("ERR_CONFIG_INVALID", `${path}: cannot connect: ${(error as Error).message}. Start it, or remove ${path.replace(/\.url$/, "")} to use the embedded store`);

/**
 * A fleet's state: PostgreSQL takes the ledger, the spend book, the batch records and model decisions; Redis takes
 * rate limits, the kill switch, open circuits and the semantic cache's answers. Either may be used alone (the other
 * part stays embedded). A shared store that cannot be reached at start-up stops start-up, with the setting to fix.
 */
export async function openFleetState(config: StateConfig, log: Log): Promise<ServingState> {
  const { postgres, redis } = config.state;
  const enabled = config.escalation.enabled;

  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    let ledger: LedgerStore;
    let book: SpendBook;
    let batches: BatchStore;
    let decisions: DecisionStore;
    let recovered: RecoveredCalls;
    if (postgres) {
      const db = await PostgresDatabase.open(postgres).catch((error: unknown) => {
        throw unreachable("state.postgres.url", error);
      });
      closers.push(() => db.close());
      const spend = new PostgresSpendBook(db, config.state.replicaTimeoutMs, (calls) =>
        log("warn", `${calls.calls} frontier calls of a replica that stopped were in flight: counted at their reserved worst case (${calls.usd.toFixed(6)} USD)`, { unknownOutcomeCalls: calls.calls }),
      );
      recovered = await spend.start();
      closers.push(() => spend.stop());
      ledger = new PostgresLedger(db);
      book = spend;
      batches = new PostgresBatchStore(db, spend.replica, config.state.replicaTimeoutMs);
      decisions = new PostgresDecisionStore(db);
    } else {
      const records = openSqliteRecords(config.ledger);
      closers.push(records.close);
      ({ ledger, book, batches, decisions, recovered } = records);
    }

    let limiter: RateLimiter = new MemoryRateLimiter();
    let killSwitch: KillSwitch = new MemoryKillSwitch(enabled);
    let breakers: BreakerSync = new LocalBreakers();
    let answers: AnswerShare = new LocalAnswerShare();
    if (redis) {
      const connection = await RedisConnection.open(redis).catch((error: unknown) => {
        throw unreachable("state.redis.url", error);
      });
      closers.push(() => connection.close());
      limiter = new RedisRateLimiter(connection);
      killSwitch = await RedisKillSwitch.open(connection, enabled);
      closers.push(() => killSwitch.close());
      breakers = await RedisBreakerSync.open(connection, Object.keys(config.escalation.providers));
      closers.push(() => breakers.close());
      answers = new RedisAnswerShare(connection, config.cache.semantic.sharedMaxEntries);
      closers.push(() => answers.close());
    }
    log("info", `shared state: ledger and spend on ${postgres ? "PostgreSQL" : "SQLite"}, rate limits, kill switch, breakers and semantic-cache answers ${redis ? "on Redis" : "in this process"}`);
    return { kind: { ledger: postgres ? "postgres" : "sqlite", limits: redis ? "redis" : "memory" }, ledger, book, limiter, killSwitch, breakers, batches, decisions, answers, recovered, close };
  } catch (error) {
    await close();
    throw error;
  }
}
