import { camelRow as fromRow, snake } from "../../ledger/column-names.js";
import { ESCALATION_COLUMNS, REVIEW_COLUMNS, type EscalationRecord, type LedgerStore, type ListQuery, type ReviewRecord, type ShadowRow, type StoredReview, type TrainingRows } from "../../ledger/ledger-store.js";
import type { PostgresDatabase } from "./pg-database.js";

const insertSql = (table: string, keys: readonly string[]) =>
  `INSERT INTO ${table} (${keys.map(snake).join(", ")}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING id`;

/** WHERE clauses of a list query, numbered from `$1`. */
function filters(query: ListQuery, extra: Array<[string, unknown]> = []) {
  const clauses: Array<[string, unknown]> = [...extra];
  if (query.tenant !== undefined) clauses.push(["tenant", query.tenant]);
  if (query.model !== undefined) clauses.push(["model", query.model]);
  const params = clauses.map(([, v]) => v);
  const where = clauses.map(([c], i) => `${c} = $${i + 1}`);
  if (query.before !== undefined) {
    params.push(query.before);
    where.push(`id < $${params.length}`);
  }
  params.push(query.limit);
  return { where: where.length > 0 ? `WHERE ${where.join(" AND ")}` : "", params, limit: `$${params.length}` };
}

/** The fleet's ledger: escalations and the review queue in PostgreSQL, the same rows the SQLite ledger keeps. */
export class PostgresLedger implements LedgerStore {
  constructor(private readonly db: PostgresDatabase) {}

  async recordEscalation(record: EscalationRecord): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(insertSql("escalations", ESCALATION_COLUMNS), ESCALATION_COLUMNS.map((k) => record[k]), { once: true, name: "specialist_escalation" });
    return rows[0]!.id;
  }

  async addReview(record: ReviewRecord): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(insertSql("reviews", REVIEW_COLUMNS), REVIEW_COLUMNS.map((k) => record[k]), { once: true, name: "specialist_review" });
    return rows[0]!.id;
  }

  async listEscalations(query: ListQuery): Promise<Array<EscalationRecord & { id: number }>> {
    const { where, params, limit } = filters(query);
    const { rows } = await this.db.query(`SELECT * FROM escalations ${where} ORDER BY id DESC LIMIT ${limit}`, params);
    return rows.map((r) => fromRow(r));
  }

  async listReviews(query: ListQuery & { status?: "open" | "resolved" }): Promise<StoredReview[]> {
    const { where, params, limit } = filters(query, query.status ? [["status", query.status]] : []);
    const { rows } = await this.db.query(`SELECT * FROM reviews ${where} ORDER BY id DESC LIMIT ${limit}`, params);
    return rows.map((r) => fromRow(r));
  }

  async getReview(id: number): Promise<StoredReview | undefined> {
    const { rows } = await this.db.query("SELECT * FROM reviews WHERE id = $1", [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async resolveReviews(ids: readonly number[], label: string, by: string, time: string): Promise<StoredReview[] | undefined> {
    const unique = [...new Set(ids)];
    return this.db.withClient(async (client) => {
      await client.query("BEGIN");
      try {
        const { rows } = await client.query(
          "UPDATE reviews SET status = 'resolved', human_label = $2, resolved_at = $3, resolved_by = $4 WHERE id = ANY($1::bigint[]) AND status = 'open' RETURNING *",
          [unique, label, time, by],
        );
        // Row locks make a concurrent resolution of the same item wait, then skip it: fewer rows than asked.
        if (rows.length !== unique.length) {
          await client.query("ROLLBACK");
          return undefined;
        }
        await client.query("COMMIT");
        const byId = new Map(rows.map((r) => [Number(r.id), fromRow<StoredReview>(r)]));
        return unique.map((id) => byId.get(id)!);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  async reopenReview(id: number): Promise<StoredReview | undefined> {
    const { rows } = await this.db.query(
      "UPDATE reviews SET status = 'open', human_label = NULL, resolved_at = NULL, resolved_by = NULL WHERE id = $1 AND status = 'resolved' RETURNING *",
      [id],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async trainingRows(model: string): Promise<TrainingRows> {
    const escalations = await this.db.query(
      "SELECT * FROM escalations WHERE model = $1 AND reason IN ('low_confidence', 'shadow') AND outcome = 'answered' AND input_text IS NOT NULL ORDER BY id",
      [model],
    );
    const reviews = await this.db.query("SELECT * FROM reviews WHERE model = $1 AND status = 'resolved' AND input_text IS NOT NULL ORDER BY id", [model]);
    return { escalations: escalations.rows.map((r) => fromRow(r)), reviews: reviews.rows.map((r) => fromRow(r)) };
  }

  async shadowRows(since: string): Promise<ShadowRow[]> {
    const { rows } = await this.db.query<Omit<ShadowRow, "latenciesMs"> & { latencies_ms: number[] | null; cost_usd: number }>(
      `SELECT model, version, COUNT(*)::int AS calls, (COUNT(*) FILTER (WHERE outcome = 'answered'))::int AS answered,
         (COUNT(*) FILTER (WHERE outcome = 'answered' AND frontier_label = specialist_label))::int AS agreed, SUM(cost_usd) AS cost_usd,
         array_agg(latency_ms ORDER BY latency_ms) FILTER (WHERE outcome = 'answered') AS latencies_ms
       FROM escalations WHERE reason = 'shadow' AND time >= $1 GROUP BY model, version ORDER BY model, version`,
      [since],
    );
    return rows.map(({ latencies_ms, cost_usd, ...r }) => ({ ...r, costUsd: cost_usd, latenciesMs: latencies_ms ?? [] }));
  }

  async close(): Promise<void> {}
}
