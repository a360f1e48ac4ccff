import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../server/ledger/ledger.js";
import { LEDGER_SCHEMA_VERSION } from "../../server/ledger/ledger-schema.js";
import { MemoryRateLimiter } from "../../server/state/rate-limiter.js";
import type { CallSettlement, PendingCall } from "../../server/state/spend-book.js";
import { SqliteSpendBook } from "../../server/state/sqlite-spend-book.js";

const day1 = new Date("2026-11-23T10:00:00Z");
const call = (reservedUsd: number, fields: Partial<PendingCall> = {}): PendingCall => ({
  time: day1,
  tenant: "t",
  requestId: "req",
  provider: "p",
  frontierModel: "m",
  reason: "low_confidence",
  attempt: 1,
  reservedUsd,
  ...fields,
});
const settled = (costUsd: number, fields: Partial<CallSettlement> = {}): CallSettlement => ({
  costUsd,
  usageSource: "provider",
  inputTokens: 10,
  outputTokens: 2,
  result: "ok",
  message: null,
  latencyMs: 5,
  ...fields,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "spend-book-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function withBook<T>(path: string, use: (book: SqliteSpendBook, ledger: Ledger) => Promise<T>): Promise<T> {
  const ledger = new Ledger(path);
  return use(new SqliteSpendBook(ledger.database), ledger).finally(() => ledger.close());
}

describe("the SQLite spend book", () => {
  it("reserves only within the budget, counting calls in flight, and settles to the actual cost", () =>
    withBook(":memory:", async (book) => {
      const a = await book.reserve(call(0.4), 1);
      const b = await book.reserve(call(0.4), 1);
      expect(a && b).toBeTruthy();
      expect(await book.reserve(call(0.4), 1)).toBeUndefined();
      await book.settle(a!, settled(0.1));
      expect(await book.reserve(call(0.4), 1)).toBeTruthy();
      expect(await book.spend("t", day1)).toEqual({ day: "2026-11-23", committedUsd: 0.1, reservedUsd: 0.8 });
    }));

  it("gives back the reserve of a call that will not be made (a refused rate limit), and only of a pending one", () =>
    withBook(":memory:", async (book, ledger) => {
      const kept = (await book.reserve(call(0.4), 1))!;
      const released = (await book.reserve(call(0.5), 1))!;
      await book.release(released);
      expect(await book.spend("t", day1)).toMatchObject({ committedUsd: 0, reservedUsd: 0.4 });
      await book.settle(kept, settled(0.1));
      await book.release(kept);
      expect(await book.spend("t", day1)).toMatchObject({ committedUsd: 0.1, reservedUsd: 0 });
      expect(ledger.database.prepare("SELECT id FROM frontier_calls").all()).toEqual([{ id: kept }]);
    }));

  it("adds thousands of small amounts exactly, so the last cent of a budget is usable and never exceeded", () =>
    withBook(":memory:", async (book) => {
      let granted = 0;
      for (let i = 0; i < 2000; i++) {
        const id = await book.reserve(call(0.001), 1);
        if (id !== undefined) {
          granted++;
          await book.settle(id, settled(0.001));
        }
      }
      expect(granted).toBe(1000);
      expect((await book.spend("t", day1)).committedUsd).toBe(1);
    }));

  it("keeps budgets per tenant and per UTC day", () =>
    withBook(":memory:", async (book) => {
      await book.settle((await book.reserve(call(0.95), 1))!, settled(0.95));
      expect(await book.reserve(call(0.1), 1)).toBeUndefined();
      expect(await book.reserve(call(0.1, { tenant: "u" }), 1)).toBeTruthy();
      expect(await book.reserve(call(0.1, { time: new Date("2026-11-24T00:00:01Z") }), 1)).toBeTruthy();
    }));

  it("settles an unbilled call at 0 and records how each call ended", () =>
    withBook(":memory:", async (book, ledger) => {
      const id = (await book.reserve(call(1), 1))!;
      await book.settle(id, settled(0, { usageSource: "none", result: "server_error", message: "p: 500", inputTokens: null, outputTokens: null }));
      expect(await book.spend("t", day1)).toMatchObject({ committedUsd: 0, reservedUsd: 0 });
      const row = ledger.database.prepare("SELECT * FROM frontier_calls WHERE id = ?").get(id);
      expect(row).toMatchObject({ status: "settled", result: "server_error", message: "p: 500", usage_source: "none", reserved_usd: 1, cost_usd: 0, request_id: "req" });
    }));

  it("refuses a non-finite amount instead of storing or comparing it", () =>
    withBook(":memory:", async (book) => {
      await expect(book.reserve(call(Number.NaN), 1)).rejects.toThrow(RangeError);
      const id = (await book.reserve(call(0.1), 1))!;
      await expect(book.settle(id, settled(Number.NaN))).rejects.toThrow(RangeError);
      await expect(book.reserve(call(0.1), Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
      // The failed settlement left the call pending at its reserve: nothing was lost or made NaN.
      expect(await book.spend("t", day1)).toEqual({ day: "2026-11-23", committedUsd: 0, reservedUsd: 0.1 });
    }));

  it("after a crash, counts calls left pending at their reserve as unknown_outcome, and a late settlement swaps in the actual cost", async () => {
    const path = join(dir, "crash.sqlite");
    const ids = await withBook(path, async (book) => {
      const first = (await book.reserve(call(0.3), 10))!;
      const second = (await book.reserve(call(0.2), 10))!;
      await book.settle((await book.reserve(call(0.5), 10))!, settled(0.05));
      return [first, second];
    });
    await withBook(path, async (book, ledger) => {
      expect(book.recoverPending()).toEqual({ calls: 2, usd: 0.5 });
      expect(book.recoverPending()).toEqual({ calls: 0, usd: 0 });
      expect(await book.spend("t", day1)).toEqual({ day: "2026-11-23", committedUsd: 0.55, reservedUsd: 0 });
      const statuses = ledger.database.prepare("SELECT status FROM frontier_calls ORDER BY id").all();
      expect(statuses).toEqual([{ status: "unknown_outcome" }, { status: "unknown_outcome" }, { status: "settled" }]);
      await book.settle(ids[0]!, settled(0.01));
      expect((await book.spend("t", day1)).committedUsd).toBeCloseTo(0.26, 12);
    });
  });

  it("migrates a ledger from before write-ahead spend: today's escalation costs become the committed budget", async () => {
    const path = join(dir, "v1.sqlite");
    const old = new Database(path);
    old.exec(`CREATE TABLE escalations (
      id INTEGER PRIMARY KEY, time TEXT NOT NULL, tenant TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
      input_hash TEXT NOT NULL, input_text TEXT, specialist_label TEXT NOT NULL, specialist_confidence REAL NOT NULL,
      reason TEXT NOT NULL, provider TEXT, frontier_model TEXT, frontier_label TEXT, input_tokens INTEGER,
      output_tokens INTEGER, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, outcome TEXT NOT NULL, failure TEXT,
      prompt TEXT, price_version TEXT)`);
    const insert = old.prepare(
      "INSERT INTO escalations (time, tenant, model, version, input_hash, specialist_label, specialist_confidence, reason, cost_usd, latency_ms, outcome) VALUES (?, ?, 'm', '1', 'h', 'ham', 0.5, 'low_confidence', ?, 1, 'answered')",
    );
    insert.run("2026-11-23T09:00:00.000Z", "t", 0.25);
    insert.run("2026-11-23T09:30:00.000Z", "t", 0.5);
    insert.run("2026-11-22T09:00:00.000Z", "t", 5);
    old.close();
    await withBook(path, async (book, ledger) => {
      expect(ledger.database.pragma("user_version", { simple: true })).toBe(LEDGER_SCHEMA_VERSION);
      expect(await book.spend("t", day1)).toEqual({ day: "2026-11-23", committedUsd: 0.75, reservedUsd: 0 });
      expect(await book.reserve(call(0.3), 1)).toBeUndefined();
      expect(await ledger.listEscalations({ limit: 10 })).toHaveLength(3);
    });
    // Opening it again applies nothing twice.
    await withBook(path, async (book) => expect((await book.spend("t", day1)).committedUsd).toBe(0.75));
  });

  it("refuses a ledger written by a newer release", () => {
    const path = join(dir, "future.sqlite");
    const future = new Database(path);
    future.pragma(`user_version = ${LEDGER_SCHEMA_VERSION + 1}`);
    future.close();
    expect(() => new Ledger(path)).toThrow(/newer than this release/);
  });
});

describe("the in-process rate limiter", () => {
  it("limits escalations per minute with a token bucket that refills over time", async () => {
    const limiter = new MemoryRateLimiter();
    const at = (ms: number) => new Date(day1.getTime() + ms);
    const taken = [];
    for (let i = 0; i < 4; i++) taken.push(await limiter.take("t", 3, at(0)));
    expect(taken).toEqual([true, true, true, false]);
    expect(await limiter.take("t", 3, at(19_000))).toBe(false);
    expect(await limiter.take("t", 3, at(20_000))).toBe(true);
  });
});
