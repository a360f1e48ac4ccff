import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { migrateLedger } from "./ledger-schema.js";
import { ESCALATION_COLUMNS, REVIEW_COLUMNS, type EscalationRecord, type LedgerStore, type ListQuery, type ReviewRecord, type ShadowRow, type StoredReview, type TrainingRows } from "./ledger-store.js";
import { camelRow as fromRow, snake } from "./column-names.js";

/**
 * The durable record of escalations and review items, in one SQLite file. WAL with synchronous=NORMAL: a
 * committed row survives the process being killed (an OS crash may lose the last few), and writers do not block
 * readers. Each insert is its own transaction, committed before the response is sent.
 */
export class Ledger implements LedgerStore {
  private readonly db: Database.Database;
  private readonly insertEscalation: Database.Statement;
  private readonly insertReview: Database.Statement;

  constructor(path: string, options: { maxBytes?: number } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    migrateLedger(this.db);
    if (options.maxBytes !== undefined) {
      // SQLite then fails a write past the cap with SQLITE_FULL, the same error a full disk gives.
      const pageSize = this.db.pragma("page_size", { simple: true }) as number;
      this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
    }
    const insert = (table: string, keys: readonly string[]) =>
      this.db.prepare(`INSERT INTO ${table} (${keys.map(snake).join(", ")}) VALUES (${keys.map((k) => `@${k}`).join(", ")})`);
    this.insertEscalation = insert("escalations", ESCALATION_COLUMNS);
    this.insertReview = insert("reviews", REVIEW_COLUMNS);
  }

  /** The open database, for the other embedded stores kept in the same file (the spend book). */
  get database(): Database.Database {
    return this.db;
  }

  async recordEscalation(record: EscalationRecord): Promise<number> {
    return Number(this.insertEscalation.run(record).lastInsertRowid);
  }

  async addReview(record: ReviewRecord): Promise<number> {
    return Number(this.insertReview.run(record).lastInsertRowid);
  }

  async listEscalations(query: ListQuery): Promise<Array<EscalationRecord & { id: number }>> {
    const { where, params } = filters(query);
    const rows = this.db.prepare(`SELECT * FROM escalations ${where} ORDER BY id DESC LIMIT ?`).all(...params, query.limit);
    return rows.map((r) => fromRow(r as Record<string, unknown>));
  }

  async listReviews(query: ListQuery & { status?: "open" | "resolved" }): Promise<StoredReview[]> {
    const { where, params } = filters(query, query.status ? [["status = ?", query.status]] : []);
    const rows = this.db.prepare(`SELECT * FROM reviews ${where} ORDER BY id DESC LIMIT ?`).all(...params, query.limit);
    return rows.map((r) => fromRow(r as Record<string, unknown>));
  }

  async getReview(id: number): Promise<StoredReview | undefined> {
    return this.reviewById(id);
  }

  private reviewById(id: number): StoredReview | undefined {
    const row = this.db.prepare("SELECT * FROM reviews WHERE id = ?").get(id);
    return row ? fromRow(row as Record<string, unknown>) : undefined;
  }

  async resolveReviews(ids: readonly number[], label: string, by: string, time: string): Promise<StoredReview[] | undefined> {
    const unique = [...new Set(ids)];
    const update = this.db.prepare("UPDATE reviews SET status = 'resolved', human_label = ?, resolved_at = ?, resolved_by = ? WHERE id = ? AND status = 'open'");
    const resolveAll = this.db.transaction(() => {
      // Throwing rolls the transaction back: the items resolved before the stale one are open again.
      if (unique.some((id) => update.run(label, time, by, id).changes !== 1)) throw new NotAllOpen();
      return unique.map((id) => this.reviewById(id)!);
    });
    try {
      return resolveAll.immediate();
    } catch (error) {
      if (error instanceof NotAllOpen) return undefined;
      throw error;
    }
  }

  async reopenReview(id: number): Promise<StoredReview | undefined> {
    const changed = this.db.prepare("UPDATE reviews SET status = 'open', human_label = NULL, resolved_at = NULL, resolved_by = NULL WHERE id = ? AND status = 'resolved'").run(id).changes;
    return changed === 1 ? this.reviewById(id) : undefined;
  }

  /** Rows for `export`: answered classification escalations (shadow calls too) and resolved reviews of a model that kept their input text. */
  async trainingRows(model: string): Promise<TrainingRows> {
    const escalations = this.db
      .prepare("SELECT * FROM escalations WHERE model = ? AND reason IN ('low_confidence', 'shadow') AND outcome = 'answered' AND input_text IS NOT NULL ORDER BY id")
      .all(model)
      .map((r) => fromRow<EscalationRecord & { id: number }>(r as Record<string, unknown>));
    const reviews = this.db
      .prepare("SELECT * FROM reviews WHERE model = ? AND status = 'resolved' AND input_text IS NOT NULL ORDER BY id")
      .all(model)
      .map((r) => fromRow<StoredReview>(r as Record<string, unknown>));
    return { escalations, reviews };
  }

  /** Shadow calls per model since a time (ISO), with the frontier latencies of the answered ones, sorted. */
  async shadowRows(since: string): Promise<ShadowRow[]> {
    const totals = this.db
      .prepare(
        `SELECT model, version, COUNT(*) AS calls, SUM(outcome = 'answered') AS answered,
           SUM(outcome = 'answered' AND frontier_label = specialist_label) AS agreed, SUM(cost_usd) AS costUsd
         FROM escalations WHERE reason = 'shadow' AND time >= ? GROUP BY model, version ORDER BY model, version`,
      )
      .all(since) as Array<{ model: string; version: string; calls: number; answered: number; agreed: number; costUsd: number }>;
    const latencies = this.db.prepare("SELECT latency_ms AS ms FROM escalations WHERE reason = 'shadow' AND outcome = 'answered' AND time >= ? AND model = ? AND version = ? ORDER BY latency_ms");
    return totals.map((t) => ({ ...t, latenciesMs: (latencies.all(since, t.model, t.version) as Array<{ ms: number }>).map((r) => r.ms) }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class NotAllOpen extends Error {}

function filters(query: ListQuery, extra: Array<[string, unknown]> = []) {
  const clauses: Array<[string, unknown]> = [...extra];
  if (query.tenant !== undefined) clauses.push(["tenant = ?", query.tenant]);
  if (query.model !== undefined) clauses.push(["model = ?", query.model]);
  if (query.before !== undefined) clauses.push(["id < ?", query.before]);
  return {
    where: clauses.length > 0 ? `WHERE ${clauses.map(([c]) => c).join(" AND ")}` : "",
    params: clauses.map(([, v]) => v),
  };
}
