import type { DecisionStore, ModelDecision } from "../model-decisions.js";
import type { PostgresDatabase } from "./pg-database.js";

const COLUMNS = "time, model, version, action, actor, reason";

/** Model decisions shared by a fleet: every replica starts on what was last decided on any of them. */
export class PostgresDecisionStore implements DecisionStore {
  constructor(private readonly db: PostgresDatabase) {}

  async record(d: ModelDecision): Promise<void> {
    await this.db.query(`INSERT INTO model_decisions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [d.time, d.model, d.version, d.action, d.actor, d.reason], { once: true });
  }

  async history(model: string, limit?: number): Promise<ModelDecision[]> {
    const { rows } = await this.db.query<ModelDecision>(`SELECT ${COLUMNS} FROM model_decisions WHERE model = $1 ORDER BY id DESC LIMIT $2`, [model, limit ?? null]);
    return rows.reverse();
  }

  async all(): Promise<ModelDecision[]> {
    const { rows } = await this.db.query<ModelDecision>(`SELECT ${COLUMNS} FROM model_decisions ORDER BY id`);
    return rows;
  }
}
