import type Database from "better-sqlite3";
import { NANO, toNano, utcDay, type CallSettlement, type PendingCall, type RecoveredCalls, type SpendBook, type TenantSpend } from "./spend-book.js";

interface CallRow {
  tenant: string;
  day: string;
  status: "pending" | "settled" | "unknown_outcome";
  reserved_usd: number;
}

/**
 * The embedded spend book: `frontier_calls` and `tenant_spend` in the ledger's SQLite file. Every step is one
 * SQLite transaction, committed (WAL) before the call it guards is made, so a killed process loses none.
 * One process per file: at start-up, calls still pending are those the last process left behind.
 */
export class SqliteSpendBook implements SpendBook {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      ensureDay: db.prepare("INSERT OR IGNORE INTO tenant_spend (tenant, day) VALUES (?, ?)"),
      // The budget check and the reservation in one conditional update: it changes the row only when the call fits.
      reserveDay: db.prepare(
        "UPDATE tenant_spend SET reserved_nano = reserved_nano + @amount WHERE tenant = @tenant AND day = @day AND committed_nano + reserved_nano + @amount <= @limit",
      ),
      insertCall: db.prepare(
        `INSERT INTO frontier_calls (time, day, tenant, request_id, provider, frontier_model, reason, attempt, status, reserved_usd)
         VALUES (@time, @day, @tenant, @requestId, @provider, @frontierModel, @reason, @attempt, 'pending', @reservedUsd)`,
      ),
      call: db.prepare("SELECT tenant, day, status, reserved_usd FROM frontier_calls WHERE id = ?"),
      moveDay: db.prepare("UPDATE tenant_spend SET reserved_nano = reserved_nano - @reserved, committed_nano = committed_nano + @committed WHERE tenant = @tenant AND day = @day"),
      settleCall: db.prepare(
        `UPDATE frontier_calls SET status = 'settled', cost_usd = @costUsd, usage_source = @usageSource, input_tokens = @inputTokens,
           output_tokens = @outputTokens, result = @result, message = @message, latency_ms = @latencyMs, settled_at = @settledAt WHERE id = @id`,
      ),
      pending: db.prepare("SELECT id, tenant, day, reserved_usd FROM frontier_calls WHERE status = 'pending'"),
      markUnknown: db.prepare("UPDATE frontier_calls SET status = 'unknown_outcome', cost_usd = reserved_usd, usage_source = 'reserved', result = 'unknown_outcome' WHERE id = ?"),
      spend: db.prepare("SELECT committed_nano, reserved_nano FROM tenant_spend WHERE tenant = ? AND day = ?"),
      deleteCall: db.prepare("DELETE FROM frontier_calls WHERE id = ? AND status = 'pending'"),
    };
  }

  /**
   * Calls a crash left pending: the provider may have received and billed them, so they stay counted at their
   * reserved worst case, marked `unknown_outcome`. Run once at start-up, before serving.
   */
  recoverPending(): RecoveredCalls {
    return this.db
      .transaction(() => {
        const rows = this.statements.pending.all() as Array<{ id: number; tenant: string; day: string; reserved_usd: number }>;
        let nano = 0;
        for (const row of rows) {
          const reserved = toNano(row.reserved_usd);
          this.statements.moveDay.run({ tenant: row.tenant, day: row.day, reserved, committed: reserved });
          this.statements.markUnknown.run(row.id);
          nano += reserved;
        }
        return { calls: rows.length, usd: nano / NANO };
      })
      .immediate();
  }

  async reserve(call: PendingCall, limitUsd: number): Promise<number | undefined> {
    const day = utcDay(call.time);
    const amount = toNano(call.reservedUsd);
    toNano(limitUsd); // refuses a non-finite budget
    // A budget is a ceiling: rounded down, as amounts are rounded up.
    const limit = Math.floor(limitUsd * NANO);
    return this.db
      .transaction(() => {
        this.statements.ensureDay.run(call.tenant, day);
        if (this.statements.reserveDay.run({ tenant: call.tenant, day, amount, limit }).changes === 0) return undefined;
        const { time, ...fields } = call;
        return Number(this.statements.insertCall.run({ ...fields, time: time.toISOString(), day }).lastInsertRowid);
      })
      .immediate();
  }

  async release(id: number): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.statements.call.get(id) as CallRow | undefined;
        if (!row || row.status !== "pending") return;
        this.statements.moveDay.run({ tenant: row.tenant, day: row.day, reserved: toNano(row.reserved_usd), committed: 0 });
        this.statements.deleteCall.run(id);
      })
      .immediate();
  }

  async settle(id: number, settlement: CallSettlement): Promise<void> {
    const cost = toNano(settlement.costUsd);
    this.db
      .transaction(() => {
        const row = this.statements.call.get(id) as CallRow | undefined;
        if (!row || row.status === "settled") return;
        const reserved = toNano(row.reserved_usd);
        // A call recovered as unknown_outcome already moved its reserve into committed: swap it for the actual cost.
        const move = row.status === "pending" ? { reserved, committed: cost } : { reserved: 0, committed: cost - reserved };
        this.statements.moveDay.run({ tenant: row.tenant, day: row.day, ...move });
        this.statements.settleCall.run({ id, ...settlement, settledAt: new Date().toISOString() });
      })
      .immediate();
  }

  async spend(tenant: string, now: Date): Promise<TenantSpend> {
    const day = utcDay(now);
    const row = this.statements.spend.get(tenant, day) as { committed_nano: number; reserved_nano: number } | undefined;
    return { day, committedUsd: (row?.committed_nano ?? 0) / NANO, reservedUsd: (row?.reserved_nano ?? 0) / NANO };
  }
}
