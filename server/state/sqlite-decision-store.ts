import type Database from "better-sqlite3";
import type { DecisionStore, ModelDecision } from "./model-decisions.js";

const COLUMNS = "time, model, version, action, actor, reason";

/** Model decisions in the ledger's SQLite file (table model_decisions, schema version 4). */
export class SqliteDecisionStore implements DecisionStore {
  constructor(private readonly db: Database.Database) {}

  async record(decision: ModelDecision): Promise<void> {
    this.db.prepare(`INSERT INTO model_decisions (${COLUMNS}) VALUES (@time, @model, @version, @action, @actor, @reason)`).run(decision);
  }

  async history(model: string, limit?: number): Promise<ModelDecision[]> {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM model_decisions WHERE model = ? ORDER BY id DESC LIMIT ?`)
      .all(model, limit ?? -1) as ModelDecision[];
    return rows.reverse();
  }

  async all(): Promise<ModelDecision[]> {
    return this.db.prepare(`SELECT ${COLUMNS} FROM model_decisions ORDER BY id`).all() as ModelDecision[];
  }
}
