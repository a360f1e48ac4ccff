import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../server/ledger/ledger.js";
import type { EscalationRecord, LedgerStore } from "../../server/ledger/ledger-store.js";
import { PostgresBatchStore } from "../../server/state/postgres/pg-batch-store.js";
import { PostgresDecisionStore } from "../../server/state/postgres/pg-decision-store.js";
import type { DecisionStore } from "../../server/state/model-decisions.js";
import { SqliteDecisionStore } from "../../server/state/sqlite-decision-store.js";
import { standingByModel } from "../../server/models/standing-decision.js";
import { PostgresDatabase } from "../../server/state/postgres/pg-database.js";
import { PostgresLedger } from "../../server/state/postgres/pg-ledger.js";
import { POSTGRES_SCHEMA_VERSION } from "../../server/state/postgres/pg-migrations.js";
import { PostgresSpendBook } from "../../server/state/postgres/pg-spend-book.js";
import type { PendingCall } from "../../server/state/spend-book.js";
import { StateUnavailable } from "../../server/state/state-unavailable.js";
import { freePort, startPostgres, stateTestsEnabled, type PostgresServer } from "../helpers/state-servers.js";

/** The fleet's PostgreSQL store against a real server: migrations, budgets under concurrency, recovery, the ledger. */
const enabled = stateTestsEnabled();
let server: PostgresServer;
const opened: PostgresDatabase[] = [];

beforeAll(async () => {
  if (enabled) server = await startPostgres();
});

afterAll(async () => {
  for (const db of opened) await db.close().catch(() => undefined);
  await server?.stop();
});

const settings = (url: string) => ({ url, poolSize: 8, statementTimeoutMs: 5_000, retryMs: 1_000 });
async function open(url: string): Promise<PostgresDatabase> {
  const db = await PostgresDatabase.open(settings(url));
  opened.push(db);
  return db;
}

const call = (tenant: string, reservedUsd: number, requestId = "r"): PendingCall => ({
  time: new Date(),
  tenant,
  requestId,
  provider: "p",
  frontierModel: "gpt-5-mini",
  reason: "low_confidence",
  attempt: 1,
  reservedUsd,
});

describe.runIf(enabled)("PostgreSQL shared state", () => {
  it("migrates once when several replicas start at the same moment", async () => {
    const url = await server.newDatabase();
    const dbs = await Promise.all(Array.from({ length: 4 }, () => open(url)));
    const { rows } = await dbs[0]!.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    // A replica started later finds the schema current and changes nothing.
    await open(url);
    expect((await dbs[0]!.query("SELECT version FROM schema_migrations")).rows).toHaveLength(POSTGRES_SCHEMA_VERSION);
  });

  it("never lets replicas together reserve past a tenant's budget", async () => {
    const url = await server.newDatabase();
    const books = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const book = new PostgresSpendBook(await open(url), 30_000);
        await book.start();
        return book;
      }),
    );
    // 3 replicas × 40 concurrent calls of 0.01 USD against 0.30 USD: exactly 30 fit.
    const ids = await Promise.all(books.flatMap((book, r) => Array.from({ length: 40 }, (_, i) => book.reserve(call("acme", 0.01, `r${r}-${i}`), 0.3))));
    const granted = ids.filter((id): id is number => id !== undefined);
    expect(granted).toHaveLength(30);
    expect(await books[0]!.spend("acme", new Date())).toMatchObject({ committedUsd: 0, reservedUsd: 0.3 });
    // Each settles at its actual cost; settling twice changes nothing.
    await Promise.all(granted.map((id, i) => books[i % 3]!.settle(id, { costUsd: 0.004, usageSource: "provider", inputTokens: 10, outputTokens: 2, result: "ok", message: null, latencyMs: 5 })));
    await books[1]!.settle(granted[0]!, { costUsd: 0.009, usageSource: "provider", inputTokens: 10, outputTokens: 2, result: "ok", message: null, latencyMs: 5 });
    const spend = await books[2]!.spend("acme", new Date());
    expect(spend.reservedUsd).toBe(0);
    expect(spend.committedUsd).toBeCloseTo(0.12, 9);
    for (const book of books) await book.stop();
  });

  it("gives back the reserve of a call that will not be made, and only of a pending one", async () => {
    const db = await open(await server.newDatabase());
    const book = new PostgresSpendBook(db, 30_000);
    await book.start();
    const kept = (await book.reserve(call("acme", 0.02), 1))!;
    const released = (await book.reserve(call("acme", 0.05), 1))!;
    await book.release(released);
    expect(await book.spend("acme", new Date())).toMatchObject({ committedUsd: 0, reservedUsd: 0.02 });
    await book.settle(kept, { costUsd: 0.01, usageSource: "provider", inputTokens: 1, outputTokens: 1, result: "ok", message: null, latencyMs: 1 });
    await book.release(kept);
    expect(await book.spend("acme", new Date())).toMatchObject({ committedUsd: 0.01, reservedUsd: 0 });
    expect((await db.query("SELECT id FROM frontier_calls")).rows).toEqual([{ id: kept }]);
    await book.stop();
  });

  it("counts at their worst case the calls a dead replica left pending, and only those", async () => {
    const url = await server.newDatabase();
    const db = await open(url);
    const dead = new PostgresSpendBook(db, 1_000);
    await dead.start();
    const lost = await dead.reserve(call("acme", 0.05), 1);
    // The replica is killed: its heartbeat stops (no stop(), which a kill -9 never runs).
    (dead as unknown as { heartbeat: NodeJS.Timeout }).heartbeat.close();
    const recovered: number[] = [];
    const alive = new PostgresSpendBook(await open(url), 1_000, (r) => recovered.push(r.calls));
    await alive.start();
    const inFlight = await alive.reserve(call("acme", 0.02), 1);
    expect(await alive.recover()).toEqual({ calls: 0, usd: 0 });
    // The living replica's heartbeat finds the dead one's call once its heartbeat is older than the timeout.
    for (let i = 0; i < 50 && recovered.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(recovered).toEqual([1]);
    const { rows } = await db.query<{ id: number; status: string }>("SELECT id, status FROM frontier_calls ORDER BY id");
    expect(rows).toEqual([
      { id: lost, status: "unknown_outcome" },
      { id: inFlight, status: "pending" },
    ]);
    expect(await alive.spend("acme", new Date())).toMatchObject({ committedUsd: 0.05, reservedUsd: 0.02 });
    // The dead replica's answer arriving late replaces the worst case by the cost.
    await alive.settle(lost!, { costUsd: 0.01, usageSource: "provider", inputTokens: 1, outputTokens: 1, result: "ok", message: null, latencyMs: 1 });
    expect((await alive.spend("acme", new Date())).committedUsd).toBeCloseTo(0.01, 9);
    await alive.stop();
  });

  it("hands an open batch to one replica, and a stopped replica's batch to another", async () => {
    const url = await server.newDatabase();
    const db = await open(url);
    const first = new PostgresSpendBook(db, 1_000);
    const second = new PostgresSpendBook(db, 1_000);
    await first.start();
    await second.start();
    const storeA = new PostgresBatchStore(db, first.replica, 1_000);
    const storeB = new PostgresBatchStore(db, second.replica, 1_000);
    const batch = {
      id: "batch_1", tenant: "t", endpoint: "/v1/classify", inputFileId: "file-1", completionWindow: "24h", status: "in_progress" as const,
      outputFileId: null, errorFileId: null, createdAt: 1, inProgressAt: 1, expiresAt: null, finalizingAt: null, completedAt: null,
      failedAt: null, expiredAt: null, cancellingAt: null, cancelledAt: null, total: 3, completed: 0, failed: 0, metadata: { a: "b" }, errors: null,
    };
    await storeA.addBatch(batch);
    expect(await storeA.getBatch("batch_1")).toEqual(batch);
    expect((await storeA.openBatches()).map((b) => b.id)).toEqual(["batch_1"]);
    expect(await storeB.openBatches()).toEqual([]);
    (first as unknown as { heartbeat: NodeJS.Timeout }).heartbeat.close();
    await new Promise((r) => setTimeout(r, 1_200));
    await second.recover();
    expect((await storeB.openBatches()).map((b) => b.id)).toEqual(["batch_1"]);
    expect(await storeA.openBatches()).toEqual([]);
    await second.stop();
  });

  it("fails as StateUnavailable, within its retry time, when the server cannot be reached", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/none`;
    const started = Date.now();
    await expect(PostgresDatabase.open({ ...settings(url), retryMs: 300 })).rejects.toBeInstanceOf(StateUnavailable);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

const escalation = (fields: Partial<EscalationRecord>): EscalationRecord => ({
  time: "2026-12-01T10:00:00.000Z", tenant: "t", model: "m", version: "1", inputHash: "sha256:a", inputText: "text",
  specialistLabel: "ham", specialistConfidence: 0.6, reason: "low_confidence", provider: "p", frontierModel: "f",
  frontierLabel: "spam", inputTokens: 10, outputTokens: 2, costUsd: 0.001, latencyMs: 120, outcome: "answered",
  failure: null, message: null, prompt: "p1", priceVersion: "v", requestId: "req", calls: 1, usageSource: "provider",
  ...fields,
});

// The same checks on both ledgers: the fleet's must keep what the embedded one keeps.
describe.runIf(enabled).each([
  ["SQLite", async (): Promise<LedgerStore> => new Ledger(":memory:")],
  ["PostgreSQL", async (): Promise<LedgerStore> => new PostgresLedger(await open(await server.newDatabase()))],
])("the %s ledger", (_name, make) => {
  it("keeps escalations and reviews, lists and resolves them, and reports shadow calls", async () => {
    const ledger = await make();
    await ledger.recordEscalation(escalation({}));
    await ledger.recordEscalation(escalation({ tenant: "u", outcome: "degraded", failure: "timeout", frontierLabel: null }));
    await ledger.recordEscalation(escalation({ reason: "shadow", frontierLabel: "ham", latencyMs: 50, inputText: "confident" }));
    await ledger.recordEscalation(escalation({ reason: "shadow", frontierLabel: "spam", latencyMs: 30 }));
    const all = await ledger.listEscalations({ limit: 10 });
    expect(all.map((r) => r.id)).toEqual([4, 3, 2, 1]);
    expect(all[3]).toEqual({ ...escalation({}), id: 1 });
    expect((await ledger.listEscalations({ limit: 10, tenant: "u" })).map((r) => r.failure)).toEqual(["timeout"]);
    expect((await ledger.listEscalations({ limit: 2, before: 3 })).map((r) => r.id)).toEqual([2, 1]);

    const review = await ledger.addReview({ time: "2026-12-01T10:00:00.000Z", tenant: "t", model: "m", version: "1", inputHash: "sha256:b", inputText: "review me", specialistLabel: "ham", specialistConfidence: 0.5, frontierLabel: null });
    expect(await ledger.listReviews({ limit: 10, status: "open" })).toHaveLength(1);
    const second = await ledger.addReview({ time: "2026-12-01T10:01:00.000Z", tenant: "t", model: "m", version: "1", inputHash: "sha256:c", inputText: null, specialistLabel: "ham", specialistConfidence: 0.6, frontierLabel: null });
    expect(await ledger.resolveReviews([review], "spam", "admin", "2026-12-01T11:00:00.000Z")).toMatchObject([{ id: review, status: "resolved", humanLabel: "spam", resolvedBy: "admin" }]);
    // All or none: the resolved item makes the pair fail, and the open one stays open.
    expect(await ledger.resolveReviews([second, review], "ham", "other", "2026-12-01T11:01:00.000Z")).toBeUndefined();
    expect(await ledger.getReview(second)).toMatchObject({ status: "open", humanLabel: null });
    expect(await ledger.reopenReview(second)).toBeUndefined();
    expect(await ledger.reopenReview(review)).toMatchObject({ status: "open", humanLabel: null, resolvedBy: null });
    expect((await ledger.resolveReviews([second, review], "spam", "admin", "2026-12-01T11:00:00.000Z"))?.map((r) => r.id)).toEqual([second, review]);
    expect(await ledger.getReview(review + 100)).toBeUndefined();

    const training = await ledger.trainingRows("m");
    expect(training.escalations.map((e) => e.inputText)).toEqual(["text", "confident", "text"]);
    expect(training.reviews.map((r) => r.humanLabel)).toEqual(["spam"]);
    expect(await ledger.shadowRows("2026-12-01T00:00:00.000Z")).toEqual([{ model: "m", version: "1", calls: 2, answered: 2, agreed: 1, costUsd: 0.002, latenciesMs: [30, 50] }]);
    await ledger.close();
  });
});

describe.runIf(enabled)("export from a fleet's ledger", () => {
  it("writes the labelled rows of a PostgreSQL ledger with `specialist export --postgres`", async () => {
    const url = await server.newDatabase();
    const ledger = new PostgresLedger(await open(url));
    await ledger.recordEscalation(escalation({ inputText: "win a prize", frontierLabel: "spam" }));
    await ledger.recordEscalation(escalation({ inputText: "lunch at noon", frontierLabel: "ham", inputHash: "sha256:b" }));
    const dir = await mkdtemp(join(tmpdir(), "export-pg-"));
    try {
      const output = join(dir, "labels.jsonl");
      const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
      await promisify(execFile)(process.execPath, ["--import", "tsx", cli, "export", "--model", "m", "--postgres", url, "-o", output]);
      const lines = (await readFile(output, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { text: string; label: string; source: string });
      expect(lines.map((l) => [l.text, l.label, l.source])).toEqual([
        ["win a prize", "spam", "frontier"],
        ["lunch at noon", "ham", "frontier"],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Decisions about model versions: what start-up applies must read the same from either store.
describe.runIf(enabled).each([
  ["SQLite", async (): Promise<DecisionStore> => new SqliteDecisionStore(new Ledger(":memory:").database)],
  ["PostgreSQL", async (): Promise<DecisionStore> => new PostgresDecisionStore(await open(await server.newDatabase()))],
])("model decisions in %s", (_name, make) => {
  it("keeps each model's decisions in order, bounded by limit, and folds them into what start-up applies", async () => {
    const store = await make();
    const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s)).toISOString();
    await store.record({ time: at(1), model: "m", version: "2", action: "reload", actor: "ops", reason: "was 1" });
    await store.record({ time: at(2), model: "other", version: "1", action: "load", actor: "ops", reason: null });
    await store.record({ time: at(3), model: "m", version: "3", action: "gate_rejected", actor: "watcher", reason: "accuracy 0.99 → 0.01" });
    await store.record({ time: at(4), model: "m", version: "1", action: "reload", actor: "ops", reason: "rollback" });
    await store.record({ time: at(5), model: "m", version: null, action: "unload", actor: "ops", reason: null });
    await store.record({ time: at(6), model: "m", version: "2", action: "load", actor: "ops", reason: null });
    expect((await store.history("m")).map((d) => d.time)).toEqual([at(1), at(3), at(4), at(5), at(6)]);
    expect((await store.history("m", 2)).map((d) => d.action)).toEqual(["unload", "load"]);
    expect((await store.history("m"))[1]).toEqual({ time: at(3), model: "m", version: "3", action: "gate_rejected", actor: "watcher", reason: "accuracy 0.99 → 0.01" });
    const standing = standingByModel(await store.all());
    expect(standing.get("m")).toMatchObject({ serving: { version: "2", action: "load" } });
    expect(standing.get("m")!.removed).toBeUndefined();
    expect([...standing.get("m")!.rejected.keys()]).toEqual(["3"]);
    expect(standing.get("other")?.serving?.version).toBe("1");
    // Putting the rejected version in service lifts its rejection; an unload clears what serves.
    await store.record({ time: at(7), model: "m", version: "3", action: "reload", actor: "ops", reason: "gate: false" });
    await store.record({ time: at(8), model: "m", version: null, action: "unload", actor: "ops", reason: null });
    const after = standingByModel(await store.all()).get("m")!;
    expect(after.serving).toBeUndefined();
    expect(after.removed).toMatchObject({ action: "unload", time: at(8) });
    expect(after.rejected.size).toBe(0);
  });
});
