import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { NANO, toNano, utcDay, type CallSettlement, type PendingCall, type RecoveredCalls, type SpendBook, type TenantSpend } from "../spend-book.js";
import type { PostgresDatabase } from "./pg-database.js";

/**
 * The fleet's spend book: `tenant_spend` and `frontier_calls` in PostgreSQL, shared by every replica. Each step is
 * one SQL function call (one round trip, one transaction), committed before the call it guards is made.
 *
 * Replicas renew a heartbeat row; calls left pending by a replica whose heartbeat stopped (killed, partitioned) are
 * counted at their worst case as `unknown_outcome` by whichever replica looks next: at start-up and at each beat.
 */
export class PostgresSpendBook implements SpendBook {
  readonly replica = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly replicaTimeoutMs: number,
    private readonly onRecovered: (calls: RecoveredCalls) => void = () => {},
  ) {}

  /** Registers this replica, recovers what dead ones left, and keeps beating. */
  async start(): Promise<RecoveredCalls> {
    await this.db.query("INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()", [this.replica]);
    const recovered = await this.recover();
    this.heartbeat = setInterval(() => void this.beat(), Math.max(250, Math.floor(this.replicaTimeoutMs / 3)));
    this.heartbeat.unref();
    return recovered;
  }

  async recover(): Promise<RecoveredCalls> {
    const { rows } = await this.db.query<{ calls: number; nano: number }>("SELECT calls, nano FROM specialist_recover($1)", [this.replicaTimeoutMs]);
    return { calls: rows[0]?.calls ?? 0, usd: (rows[0]?.nano ?? 0) / NANO };
  }

  async reserve(call: PendingCall, limitUsd: number): Promise<number | undefined> {
    const amount = toNano(call.reservedUsd);
    toNano(limitUsd); // refuses a non-finite budget
    const limit = Math.floor(limitUsd * NANO);
    const { rows } = await this.db.query<{ id: number | null }>(
      "SELECT specialist_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS id",
      [call.tenant, utcDay(call.time), amount, limit, call.time.toISOString(), call.requestId, call.provider, call.frontierModel, call.reason, call.attempt, call.reservedUsd, this.replica],
      { once: true, name: "specialist_reserve" },
    );
    return rows[0]?.id ?? undefined;
  }

  async release(id: number): Promise<void> {
    // One statement, so one transaction: the row goes and its reserve with it, or neither.
    await this.db.query(
      `WITH gone AS (DELETE FROM frontier_calls WHERE id = $1 AND status = 'pending' RETURNING tenant, day, reserved_nano)
       UPDATE tenant_spend t SET reserved_nano = t.reserved_nano - gone.reserved_nano FROM gone WHERE t.tenant = gone.tenant AND t.day = gone.day`,
      [id],
      { name: "specialist_release" },
    );
  }

  async settle(id: number, s: CallSettlement): Promise<void> {
    // Settling twice changes nothing (the function skips a settled call): safe to retry.
    await this.db.query("SELECT specialist_settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", [
      id, toNano(s.costUsd), s.costUsd, s.usageSource, s.inputTokens, s.outputTokens, s.result, s.message, s.latencyMs, new Date().toISOString(),
    ], { name: "specialist_settle" });
  }

  async spend(tenant: string, now: Date): Promise<TenantSpend> {
    const day = utcDay(now);
    const { rows } = await this.db.query<{ committed_nano: number; reserved_nano: number }>("SELECT committed_nano, reserved_nano FROM tenant_spend WHERE tenant = $1 AND day = $2", [tenant, day], { name: "specialist_spend" });
    return { day, committedUsd: (rows[0]?.committed_nano ?? 0) / NANO, reservedUsd: (rows[0]?.reserved_nano ?? 0) / NANO };
  }

  /** Leaves the fleet: calls still pending (none after a drain) are recovered by the next replica that looks. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.db.query("DELETE FROM replicas WHERE id = $1", [this.replica]).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.db.query("INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()", [this.replica]);
      const recovered = await this.recover();
      if (recovered.calls > 0) this.onRecovered(recovered);
    } catch {
      // The store is down: requests see it (state_unavailable); the next beat tries again.
    }
  }
}
