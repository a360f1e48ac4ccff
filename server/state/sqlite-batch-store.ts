import type Database from "better-sqlite3";
import type { BatchPatch, BatchStore, StoredBatch, StoredFile } from "./batch-store.js";
import { camel, snake } from "../ledger/column-names.js";

const JSON_COLUMNS = new Set(["metadata", "errors"]);

function toRow(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [snake(k), JSON_COLUMNS.has(k) && v !== null && v !== undefined ? JSON.stringify(v) : v]));
}

function fromRow<T>(row: Record<string, unknown>): T {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([k]) => k !== "seq")
      .map(([k, v]) => [camel(k), JSON_COLUMNS.has(k) && typeof v === "string" ? JSON.parse(v) : v]),
  ) as T;
}

/** The Batch API's records in the ledger's SQLite file (tables batch_files and batches, schema version 3). */
export class SqliteBatchStore implements BatchStore {
  constructor(private readonly db: Database.Database) {}

  async addFile(file: StoredFile): Promise<void> {
    const row = toRow({ ...file });
    this.db.prepare(`INSERT INTO batch_files (${Object.keys(row).join(", ")}) VALUES (${Object.keys(row).map((k) => `@${k}`).join(", ")})`).run(row);
  }

  async getFile(id: string): Promise<StoredFile | undefined> {
    const row = this.db.prepare("SELECT * FROM batch_files WHERE id = ?").get(id);
    return row ? fromRow<StoredFile>(row as Record<string, unknown>) : undefined;
  }

  async listFiles(tenant: string, limit: number): Promise<StoredFile[]> {
    const rows = this.db.prepare("SELECT * FROM batch_files WHERE tenant = ? ORDER BY created_at DESC, rowid DESC LIMIT ?").all(tenant, limit);
    return rows.map((r) => fromRow<StoredFile>(r as Record<string, unknown>));
  }

  async deleteFile(id: string): Promise<void> {
    this.db.prepare("DELETE FROM batch_files WHERE id = ?").run(id);
  }

  async setFileBytes(id: string, bytes: number): Promise<void> {
    this.db.prepare("UPDATE batch_files SET bytes = ? WHERE id = ?").run(bytes, id);
  }

  async addBatch(batch: StoredBatch): Promise<void> {
    const row = toRow({ ...batch });
    // `seq` orders batches as they were created (ids are random), for listing and for the runner's queue.
    this.db
      .prepare(`INSERT INTO batches (seq, ${Object.keys(row).join(", ")}) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM batches), ${Object.keys(row).map((k) => `@${k}`).join(", ")})`)
      .run(row);
  }

  async getBatch(id: string): Promise<StoredBatch | undefined> {
    const row = this.db.prepare("SELECT * FROM batches WHERE id = ?").get(id);
    return row ? fromRow<StoredBatch>(row as Record<string, unknown>) : undefined;
  }

  async listBatches(tenant: string, limit: number, after?: string): Promise<StoredBatch[]> {
    const rows = after
      ? this.db.prepare("SELECT * FROM batches WHERE tenant = ? AND seq < (SELECT seq FROM batches WHERE id = ?) ORDER BY seq DESC LIMIT ?").all(tenant, after, limit)
      : this.db.prepare("SELECT * FROM batches WHERE tenant = ? ORDER BY seq DESC LIMIT ?").all(tenant, limit);
    return rows.map((r) => fromRow<StoredBatch>(r as Record<string, unknown>));
  }

  async updateBatch(id: string, patch: BatchPatch): Promise<StoredBatch> {
    const row = toRow({ ...patch });
    const keys = Object.keys(row);
    if (keys.length > 0) this.db.prepare(`UPDATE batches SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`).run({ ...row, id });
    return (await this.getBatch(id))!;
  }

  async openBatches(): Promise<StoredBatch[]> {
    const rows = this.db.prepare("SELECT * FROM batches WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling') ORDER BY seq").all();
    return rows.map((r) => fromRow<StoredBatch>(r as Record<string, unknown>));
  }
}
