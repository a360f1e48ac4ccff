import type Database from "better-sqlite3";

/**
 * The ledger file's schema, as numbered migrations. `PRAGMA user_version` holds the last one applied; each runs in
 * its own transaction, so a file is always at one version. Files from before versioning (version 0, tables already
 * there) pass through migration 1 unchanged, thanks to IF NOT EXISTS.
 */
const MIGRATIONS: readonly string[] = [
  // 1: escalations and the review queue.
  `CREATE TABLE IF NOT EXISTS escalations (
     id INTEGER PRIMARY KEY, time TEXT NOT NULL, tenant TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
     input_hash TEXT NOT NULL, input_text TEXT, specialist_label TEXT NOT NULL, specialist_confidence REAL NOT NULL,
     reason TEXT NOT NULL, provider TEXT, frontier_model TEXT, frontier_label TEXT, input_tokens INTEGER,
     output_tokens INTEGER, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, outcome TEXT NOT NULL, failure TEXT,
     prompt TEXT, price_version TEXT);
   CREATE INDEX IF NOT EXISTS escalations_tenant_time ON escalations (tenant, time);
   CREATE TABLE IF NOT EXISTS reviews (
     id INTEGER PRIMARY KEY, time TEXT NOT NULL, tenant TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
     input_hash TEXT NOT NULL, input_text TEXT, specialist_label TEXT NOT NULL, specialist_confidence REAL NOT NULL,
     frontier_label TEXT, status TEXT NOT NULL DEFAULT 'open', human_label TEXT, resolved_at TEXT, resolved_by TEXT);
   CREATE INDEX IF NOT EXISTS reviews_status ON reviews (status, id);`,
  // 2: write-ahead spend. One row per frontier call, written before the call; per-tenant-day totals kept beside
  // them so a budget check reads one row. Earlier spend (escalations' costs) becomes the committed totals.
  `ALTER TABLE escalations ADD COLUMN request_id TEXT;
   ALTER TABLE escalations ADD COLUMN message TEXT;
   ALTER TABLE escalations ADD COLUMN calls INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE escalations ADD COLUMN usage_source TEXT;
   CREATE TABLE frontier_calls (
     id INTEGER PRIMARY KEY, time TEXT NOT NULL, day TEXT NOT NULL, tenant TEXT NOT NULL, request_id TEXT NOT NULL,
     provider TEXT NOT NULL, frontier_model TEXT NOT NULL, reason TEXT NOT NULL, attempt INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'settled', 'unknown_outcome')),
     reserved_usd REAL NOT NULL CHECK (reserved_usd >= 0), cost_usd REAL CHECK (cost_usd >= 0), usage_source TEXT,
     input_tokens INTEGER, output_tokens INTEGER, result TEXT, message TEXT, latency_ms REAL, settled_at TEXT);
   CREATE INDEX frontier_calls_pending ON frontier_calls (status) WHERE status = 'pending';
   CREATE INDEX frontier_calls_request ON frontier_calls (request_id);
   CREATE TABLE tenant_spend (
     tenant TEXT NOT NULL, day TEXT NOT NULL,
     committed_nano INTEGER NOT NULL DEFAULT 0, reserved_nano INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (tenant, day)) WITHOUT ROWID;
   INSERT INTO tenant_spend (tenant, day, committed_nano)
     SELECT tenant, substr(time, 1, 10), CAST(SUM(cost_usd) * 1e9 + 0.999999 AS INTEGER) FROM escalations
     GROUP BY tenant, substr(time, 1, 10);`,
  // 3: the Batch API's files and jobs (contents in the files folder); a job resumes from its output files.
  `CREATE TABLE batch_files (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL, bytes INTEGER NOT NULL,
     created_at INTEGER NOT NULL);
   CREATE INDEX batch_files_tenant ON batch_files (tenant, created_at);
   CREATE TABLE batches (
     id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, tenant TEXT NOT NULL, endpoint TEXT NOT NULL,
     input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL, status TEXT NOT NULL, output_file_id TEXT,
     error_file_id TEXT, created_at INTEGER NOT NULL, in_progress_at INTEGER, expires_at INTEGER, finalizing_at INTEGER,
     completed_at INTEGER, failed_at INTEGER, expired_at INTEGER, cancelling_at INTEGER, cancelled_at INTEGER,
     total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
     metadata TEXT, errors TEXT);
   CREATE INDEX batches_tenant ON batches (tenant, seq);
   CREATE INDEX batches_open ON batches (status) WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');`,
  // 4: decisions about model versions (reloads, promotions, gate rejections, unloads), applied at start-up.
  `CREATE TABLE model_decisions (
     id INTEGER PRIMARY KEY, time TEXT NOT NULL, model TEXT NOT NULL, version TEXT, action TEXT NOT NULL,
     actor TEXT NOT NULL, reason TEXT);
   CREATE INDEX model_decisions_model ON model_decisions (model, id);`,
];

export const LEDGER_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the file to the current schema; refuses a file written by a newer release rather than guess. */
export function migrateLedger(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the ledger has schema version ${current}, newer than this release's ${MIGRATIONS.length}: upgrade the server`);
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]!);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
