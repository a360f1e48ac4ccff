import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { Tenant } from "../auth/tenants.js";
import type { BatchSettings } from "../config/batch-schema.js";
import { ServingError } from "../errors/registry.js";
import type { BatchStore, StoredBatch, StoredFile } from "../state/batch-store.js";
import type { z } from "zod";
import type { CreateBatchBody } from "./batch-protocol.js";
import { BatchRunner, type RunnerDeps } from "./batch-runner.js";
import { FileFolder } from "./file-folder.js";

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}${randomUUID().replaceAll("-", "")}`;
const WINDOWS: Record<string, number> = { "24h": 24 * 3600 };

/**
 * The Batch API without HTTP: a tenant's files and batch jobs, and the runner that works through them. Every read is
 * per tenant: another tenant's id is "not found".
 */
export class BatchService {
  readonly files: FileFolder;
  private readonly runner: BatchRunner;

  private constructor(
    private readonly store: BatchStore,
    settings: BatchSettings,
    deps: Omit<RunnerDeps, "store" | "files" | "settings">,
  ) {
    this.files = new FileFolder(settings.filesDir);
    this.runner = new BatchRunner({ ...deps, store, files: this.files, settings });
  }

  static async open(store: BatchStore, settings: BatchSettings, deps: Omit<RunnerDeps, "store" | "files" | "settings">): Promise<BatchService> {
    const service = new BatchService(store, settings, deps);
    await service.files.init();
    return service;
  }

  /** Resumes the jobs a previous process left open. */
  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  async upload(tenant: Tenant, filename: string, content: Readable): Promise<StoredFile> {
    const id = newId("file-");
    const bytes = await this.files.save(id, content);
    const file: StoredFile = { id, tenant: tenant.id, purpose: "batch", filename: filename.slice(0, 255) || "upload.jsonl", bytes, createdAt: now() };
    await this.store.addFile(file);
    return file;
  }

  async file(tenant: Tenant, id: string): Promise<StoredFile> {
    const file = await this.store.getFile(id);
    if (!file || file.tenant !== tenant.id) throw new ServingError("ERR_FILE_NOT_FOUND", `no file '${id}'`);
    return file;
  }

  listFiles(tenant: Tenant, limit: number): Promise<StoredFile[]> {
    return this.store.listFiles(tenant.id, limit);
  }

  content(file: StoredFile): Readable {
    return this.files.read(file.id);
  }

  async deleteFile(tenant: Tenant, id: string): Promise<StoredFile> {
    const file = await this.file(tenant, id);
    await this.store.deleteFile(id);
    await this.files.remove(id);
    return file;
  }

  async create(tenant: Tenant, body: z.infer<typeof CreateBatchBody>): Promise<StoredBatch> {
    const input = await this.file(tenant, body.input_file_id);
    if (input.purpose !== "batch") throw new ServingError("ERR_INVALID_REQUEST", `input_file_id: file '${input.id}' is a batch output, not an input (purpose batch)`);
    const created = now();
    const batch: StoredBatch = {
      id: newId("batch_"),
      tenant: tenant.id,
      endpoint: body.endpoint,
      inputFileId: input.id,
      completionWindow: body.completion_window,
      status: "validating",
      outputFileId: null,
      errorFileId: null,
      createdAt: created,
      inProgressAt: null,
      expiresAt: created + WINDOWS[body.completion_window]!,
      finalizingAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      cancellingAt: null,
      cancelledAt: null,
      total: 0,
      completed: 0,
      failed: 0,
      metadata: body.metadata ?? null,
      errors: null,
    };
    await this.store.addBatch(batch);
    this.runner.enqueue(batch.id);
    return batch;
  }

  async batch(tenant: Tenant, id: string): Promise<StoredBatch> {
    const batch = await this.store.getBatch(id);
    if (!batch || batch.tenant !== tenant.id) throw new ServingError("ERR_BATCH_NOT_FOUND", `no batch '${id}'`);
    return batch;
  }

  listBatches(tenant: Tenant, limit: number, after?: string): Promise<StoredBatch[]> {
    return this.store.listBatches(tenant.id, limit, after);
  }

  /** Lines already running finish; the rest are not run. The job ends as `cancelled` with what it answered. */
  async cancel(tenant: Tenant, id: string): Promise<StoredBatch> {
    const batch = await this.batch(tenant, id);
    if (batch.status === "cancelling") return batch;
    if (batch.status !== "validating" && batch.status !== "in_progress") {
      throw new ServingError("ERR_BATCH_FINISHED", `batch '${id}' is ${batch.status}: only a validating or running batch can be cancelled`);
    }
    const cancelling = await this.store.updateBatch(id, { status: "cancelling", cancellingAt: now() });
    // A job that is not running now finishes as cancelled when the runner reaches it.
    this.runner.cancelRunning(id);
    return cancelling;
  }
}
