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
