import type { BatchPatch, BatchStore, StoredBatch, StoredFile } from "../batch-store.js";
import type { PostgresDatabase } from "./pg-database.js";
import { camelRow, snake } from "../../ledger/column-names.js";

const HIDDEN = new Set(["seq", "runner"]);
const JSON_KEYS = new Set(["metadata", "errors"]);

const fromRow = <T>(row: Record<string, unknown>): T => camelRow<T>(row, HIDDEN);
const columns = (values: Record<string, unknown>) => {
  const entries = Object.entries(values);
  return { names: entries.map(([k]) => snake(k)), params: entries.map(([k, v]) => (JSON_KEYS.has(k) && v !== null && v !== undefined ? JSON.stringify(v) : v)) };
};
const OPEN = "('validating', 'in_progress', 'finalizing', 'cancelling')";

/**
 * The Batch API's records in PostgreSQL, for a fleet whose replicas share the files folder. Each job has a runner
 * (the replica that created or adopted it); `openBatches` hands a replica its own open jobs and those of replicas
 * whose heartbeat stopped, so that a job runs on one replica at a time and survives the loss of its runner.
 */
export class PostgresBatchStore implements BatchStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly replica: string,
    private readonly replicaTimeoutMs: number,
  ) {}

  async addFile(file: StoredFile): Promise<void> {
    const { names, params } = columns({ ...file });
    await this.db.query(`INSERT INTO batch_files (${names.join(", ")}) VALUES (${params.map((_, i) => `$${i + 1}`).join(", ")})`, params, { once: true });
  }

  async getFile(id: string): Promise<StoredFile | undefined> {
    const { rows } = await this.db.query("SELECT * FROM batch_files WHERE id = $1", [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async listFiles(tenant: string, limit: number): Promise<StoredFile[]> {
    const { rows } = await this.db.query("SELECT * FROM batch_files WHERE tenant = $1 ORDER BY created_at DESC, seq DESC LIMIT $2", [tenant, limit]);
    return rows.map((r) => fromRow(r));
  }

  async deleteFile(id: string): Promise<void> {
    await this.db.query("DELETE FROM batch_files WHERE id = $1", [id]);
  }

  async setFileBytes(id: string, bytes: number): Promise<void> {
    await this.db.query("UPDATE batch_files SET bytes = $2 WHERE id = $1", [id, bytes]);
  }

  async addBatch(batch: StoredBatch): Promise<void> {
    const { names, params } = columns({ ...batch, runner: this.replica });
    await this.db.query(`INSERT INTO batches (${names.join(", ")}) VALUES (${params.map((_, i) => `$${i + 1}`).join(", ")})`, params, { once: true });
  }

  async getBatch(id: string): Promise<StoredBatch | undefined> {
    const { rows } = await this.db.query("SELECT * FROM batches WHERE id = $1", [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async listBatches(tenant: string, limit: number, after?: string): Promise<StoredBatch[]> {
    const { rows } = after
      ? await this.db.query("SELECT * FROM batches WHERE tenant = $1 AND seq < (SELECT seq FROM batches WHERE id = $2) ORDER BY seq DESC LIMIT $3", [tenant, after, limit])
      : await this.db.query("SELECT * FROM batches WHERE tenant = $1 ORDER BY seq DESC LIMIT $2", [tenant, limit]);
    return rows.map((r) => fromRow(r));
  }

  async updateBatch(id: string, patch: BatchPatch): Promise<StoredBatch> {
    const { names, params } = columns({ ...patch });
    if (names.length === 0) return (await this.getBatch(id))!;
    const { rows } = await this.db.query(`UPDATE batches SET ${names.map((n, i) => `${n} = $${i + 2}`).join(", ")} WHERE id = $1 RETURNING *`, [id, ...params]);
    return fromRow(rows[0]!);
  }

  async openBatches(): Promise<StoredBatch[]> {
    const { rows } = await this.db.query(
      `UPDATE batches b SET runner = $1 WHERE status IN ${OPEN} AND (runner IS NULL OR runner = $1 OR NOT EXISTS
         (SELECT 1 FROM replicas r WHERE r.id = b.runner AND r.seen_at > now() - $2 * interval '1 millisecond'))
       RETURNING *`,
      [this.replica, this.replicaTimeoutMs],
    );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => fromRow<StoredBatch>(r));
  }
}
