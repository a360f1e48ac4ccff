import type pg from "pg";

/**
 * The shared store's schema, as numbered migrations. Each replica runs them at start-up under one advisory lock, so
 * several replicas starting at once apply each migration exactly once; a database already at the last version is
 * left alone. The spend steps are SQL functions, so that a budget check and its pending row are one round trip.
 */
const MIGRATIONS: readonly string[] = [
  // 1: escalations, the review queue, write-ahead spend, replicas' heartbeats.
  `CREATE TABLE escalations (
     id BIGSERIAL PRIMARY KEY, time TEXT NOT NULL, tenant TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
     input_hash TEXT NOT NULL, input_text TEXT, specialist_label TEXT NOT NULL, specialist_confidence DOUBLE PRECISION NOT NULL,
     reason TEXT NOT NULL, provider TEXT, frontier_model TEXT, frontier_label TEXT, input_tokens INTEGER,
     output_tokens INTEGER, cost_usd DOUBLE PRECISION NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, outcome TEXT NOT NULL,
     failure TEXT, message TEXT, prompt TEXT, price_version TEXT, request_id TEXT, calls INTEGER NOT NULL DEFAULT 0, usage_source TEXT);
   CREATE INDEX escalations_tenant_time ON escalations (tenant, time);
   CREATE INDEX escalations_model ON escalations (model, reason);
   CREATE TABLE reviews (
     id BIGSERIAL PRIMARY KEY, time TEXT NOT NULL, tenant TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
     input_hash TEXT NOT NULL, input_text TEXT, specialist_label TEXT NOT NULL, specialist_confidence DOUBLE PRECISION NOT NULL,
     frontier_label TEXT, status TEXT NOT NULL DEFAULT 'open', human_label TEXT, resolved_at TEXT, resolved_by TEXT);
   CREATE INDEX reviews_status ON reviews (status, id);
   CREATE TABLE replicas (id TEXT PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), seen_at TIMESTAMPTZ NOT NULL DEFAULT now());
   CREATE TABLE tenant_spend (
     tenant TEXT NOT NULL, day TEXT NOT NULL, committed_nano BIGINT NOT NULL DEFAULT 0, reserved_nano BIGINT NOT NULL DEFAULT 0,
     PRIMARY KEY (tenant, day));
   CREATE TABLE frontier_calls (
     id BIGSERIAL PRIMARY KEY, time TEXT NOT NULL, day TEXT NOT NULL, tenant TEXT NOT NULL, request_id TEXT NOT NULL,
     provider TEXT NOT NULL, frontier_model TEXT NOT NULL, reason TEXT NOT NULL, attempt INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'settled', 'unknown_outcome')),
     reserved_usd DOUBLE PRECISION NOT NULL CHECK (reserved_usd >= 0), reserved_nano BIGINT NOT NULL,
     cost_usd DOUBLE PRECISION CHECK (cost_usd >= 0), usage_source TEXT, input_tokens INTEGER, output_tokens INTEGER,
     result TEXT, message TEXT, latency_ms DOUBLE PRECISION, settled_at TEXT, replica TEXT NOT NULL);
   CREATE INDEX frontier_calls_pending ON frontier_calls (replica) WHERE status = 'pending';
   CREATE INDEX frontier_calls_request ON frontier_calls (request_id);

   -- The budget check and the pending row, atomically: the conditional UPDATE locks the tenant-day row, and a
   -- concurrent one re-reads it after the first commits, so no number of replicas can overspend.
   CREATE FUNCTION specialist_reserve(p_tenant TEXT, p_day TEXT, p_amount BIGINT, p_limit BIGINT, p_time TEXT, p_request_id TEXT,
     p_provider TEXT, p_frontier_model TEXT, p_reason TEXT, p_attempt INTEGER, p_reserved_usd DOUBLE PRECISION, p_replica TEXT)
   RETURNS BIGINT LANGUAGE plpgsql AS $$
   DECLARE call_id BIGINT;
   BEGIN
     INSERT INTO tenant_spend (tenant, day) VALUES (p_tenant, p_day) ON CONFLICT DO NOTHING;
     UPDATE tenant_spend SET reserved_nano = reserved_nano + p_amount
       WHERE tenant = p_tenant AND day = p_day AND committed_nano + reserved_nano + p_amount <= p_limit;
     IF NOT FOUND THEN RETURN NULL; END IF;
     INSERT INTO frontier_calls (time, day, tenant, request_id, provider, frontier_model, reason, attempt, status, reserved_usd, reserved_nano, replica)
       VALUES (p_time, p_day, p_tenant, p_request_id, p_provider, p_frontier_model, p_reason, p_attempt, 'pending', p_reserved_usd, p_amount, p_replica)
       RETURNING id INTO call_id;
     RETURN call_id;
   END $$;

   -- Replaces a call's reserve by its cost. A call recovered as unknown_outcome already moved its reserve into
   -- committed: the difference is applied.
   CREATE FUNCTION specialist_settle(p_id BIGINT, p_cost_nano BIGINT, p_cost_usd DOUBLE PRECISION, p_usage_source TEXT,
     p_input_tokens INTEGER, p_output_tokens INTEGER, p_result TEXT, p_message TEXT, p_latency_ms DOUBLE PRECISION, p_settled_at TEXT)
   RETURNS VOID LANGUAGE plpgsql AS $$
   DECLARE r frontier_calls%ROWTYPE;
   BEGIN
     SELECT * INTO r FROM frontier_calls WHERE id = p_id FOR UPDATE;
     IF NOT FOUND OR r.status = 'settled' THEN RETURN; END IF;
     IF r.status = 'pending' THEN
       UPDATE tenant_spend SET reserved_nano = reserved_nano - r.reserved_nano, committed_nano = committed_nano + p_cost_nano
         WHERE tenant = r.tenant AND day = r.day;
     ELSE
       UPDATE tenant_spend SET committed_nano = committed_nano + p_cost_nano - r.reserved_nano WHERE tenant = r.tenant AND day = r.day;
     END IF;
     UPDATE frontier_calls SET status = 'settled', cost_usd = p_cost_usd, usage_source = p_usage_source, input_tokens = p_input_tokens,
       output_tokens = p_output_tokens, result = p_result, message = p_message, latency_ms = p_latency_ms, settled_at = p_settled_at
       WHERE id = p_id;
   END $$;

   -- Calls left pending by replicas whose heartbeat stopped: the provider may have billed them, so they stay counted
   -- at their reserved worst case, as unknown_outcome. Rows another recovery holds are skipped, not waited for.
   CREATE FUNCTION specialist_recover(p_timeout_ms BIGINT) RETURNS TABLE (calls BIGINT, nano BIGINT) LANGUAGE plpgsql AS $$
   DECLARE r RECORD; n BIGINT := 0; total BIGINT := 0;
   BEGIN
     FOR r IN SELECT * FROM frontier_calls f WHERE f.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM replicas x WHERE x.id = f.replica AND x.seen_at > now() - p_timeout_ms * interval '1 millisecond')
         FOR UPDATE SKIP LOCKED
     LOOP
       UPDATE tenant_spend SET reserved_nano = reserved_nano - r.reserved_nano, committed_nano = committed_nano + r.reserved_nano
         WHERE tenant = r.tenant AND day = r.day;
       UPDATE frontier_calls SET status = 'unknown_outcome', cost_usd = reserved_usd, usage_source = 'reserved', result = 'unknown_outcome' WHERE id = r.id;
       n := n + 1; total := total + r.reserved_nano;
     END LOOP;
     DELETE FROM replicas WHERE seen_at <= now() - p_timeout_ms * interval '1 millisecond';
     RETURN QUERY SELECT n, total;
   END $$;`,
  // 2: the Batch API's files and jobs (contents in the shared files folder). `runner` is the replica running a job;
  // a job whose runner stopped beating is adopted by another.
  `CREATE TABLE batch_files (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL, bytes BIGINT NOT NULL,
     created_at BIGINT NOT NULL, seq BIGSERIAL);
   CREATE INDEX batch_files_tenant ON batch_files (tenant, created_at);
   CREATE TABLE batches (
     id TEXT PRIMARY KEY, seq BIGSERIAL UNIQUE, tenant TEXT NOT NULL, endpoint TEXT NOT NULL,
     input_file_id TEXT NOT NULL, completion_window TEXT NOT NULL, status TEXT NOT NULL, output_file_id TEXT,
     error_file_id TEXT, created_at BIGINT NOT NULL, in_progress_at BIGINT, expires_at BIGINT, finalizing_at BIGINT,
     completed_at BIGINT, failed_at BIGINT, expired_at BIGINT, cancelling_at BIGINT, cancelled_at BIGINT,
     total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
     metadata JSONB, errors JSONB, runner TEXT);
   CREATE INDEX batches_tenant ON batches (tenant, seq);
   CREATE INDEX batches_open ON batches (status) WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');`,
  // 3: decisions about model versions (reloads, promotions, gate rejections, unloads), applied at each replica's start.
  `CREATE TABLE model_decisions (
     id BIGSERIAL PRIMARY KEY, time TEXT NOT NULL, model TEXT NOT NULL, version TEXT, action TEXT NOT NULL,
     actor TEXT NOT NULL, reason TEXT);
   CREATE INDEX model_decisions_model ON model_decisions (model, id);`,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;
/** Any fixed number: the advisory lock every replica takes to migrate. */
const MIGRATION_LOCK = 0x5e7c1a1;

/** Brings the database to the current schema; refuses one written by a newer release rather than guess. */
export async function migratePostgres(client: pg.ClientBase): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const { rows } = await client.query<{ version: number | null }>("SELECT MAX(version) AS version FROM schema_migrations");
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`the database has schema version ${current}, newer than this release's ${MIGRATIONS.length}: upgrade the server`);
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
