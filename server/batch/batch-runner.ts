import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import type { Tenant } from "../auth/tenants.js";
import type { BatchSettings } from "../config/batch-schema.js";
import { PROVIDER_BATCH_WAIT_MS } from "../escalation/escalation-types.js";
import type { Caller } from "../serving/caller.js";
import type { ServingCore } from "../serving/serving-core.js";
import type { BatchStore, StoredBatch } from "../state/batch-store.js";
import { answeredFrom, runJob } from "./batch-job.js";
import { executeLine, type BatchEndpoint } from "./batch-lines.js";
import type { FileFolder } from "./file-folder.js";
import type { LineAppender } from "./jsonl-file.js";

const now = () => Math.floor(Date.now() / 1000);
/** Progress is written to the store at most this often while a job runs (and always at its end). */
const PROGRESS_EVERY_MS = 1_000;
/** A window of lines is sorted by length only when no interactive request came for this long. */
const INTERACTIVE_QUIET_MS = 1_000;
/** Open jobs are looked for this often: in a fleet, those whose replica stopped are adopted. */
const ADOPT_EVERY_MS = 15_000;

export interface RunnerDeps {
  store: BatchStore;
  files: FileFolder;
  settings: BatchSettings;
  core: Pick<ServingCore, "classify" | "completions" | "embeddings">;
  tenantOf(id: string): Tenant | undefined;
  log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void;
}

/**
 * Runs batch jobs one after the other, oldest first, at background priority. Jobs survive a restart: `start()`
 * resumes every job that had not ended, skipping the lines its output files already answer.
 */
export class BatchRunner {
  private readonly queue: string[] = [];
  private active: { id: string; stop: boolean; controller: AbortController } | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private adopter: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RunnerDeps) {}

  async start(): Promise<void> {
    await this.adopt();
    this.adopter = setInterval(() => void this.adopt().catch(() => undefined), ADOPT_EVERY_MS);
    this.adopter.unref();
  }

  /** Queues the open jobs this runner is to run (all of them, or in a fleet its own and those of stopped replicas). */
  private async adopt(): Promise<void> {
    for (const batch of await this.deps.store.openBatches()) {
      if (this.active?.id !== batch.id && !this.queue.includes(batch.id)) this.queue.push(batch.id);
    }
    this.kick();
  }

  enqueue(id: string): void {
    this.queue.push(id);
    this.kick();
  }

  /** Stops taking new lines of the job, if it is the one running; the runner records the cancellation when they end. */
  cancelRunning(id: string): boolean {
    if (this.active?.id !== id) return false;
    this.halt(this.active);
    return true;
  }

  /** Stops after the lines in flight; jobs stay open and resume at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.adopter);
    if (this.active) this.halt(this.active);
    await this.loop;
  }

  /**
   * No new lines. Lines waiting on a provider batch (hours) are let go rather than waited for: their answers are not
   * written, so the job runs them again when it resumes.
   */
  private halt(active: { stop: boolean; controller: AbortController }): void {
    active.stop = true;
    if (this.deps.settings.frontierBatch) active.controller.abort();
  }

  private kick(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.drain().finally(() => {
      this.loop = undefined;
      if (this.queue.length > 0 && !this.stopping) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let id = this.queue.shift(); id !== undefined && !this.stopping; id = this.queue.shift()) {
      try {
        const batch = await this.deps.store.getBatch(id);
        if (batch) await this.run(batch);
      } catch (error) {
        this.deps.log("error", `batch ${id} failed: ${(error as Error).stack ?? String(error)}`, { batch: id });
        await this.deps.store.updateBatch(id, { status: "failed", failedAt: now(), errors: [{ code: "internal_error", message: (error as Error).message }] }).catch(() => undefined);
      }
    }
  }

  private async run(batch: StoredBatch): Promise<void> {
    const { store, files, settings } = this.deps;
    // A job cancelled while queued or while its lines were counted ends without running any.
    if (batch.status === "validating") batch = await this.validate(batch);
    if (batch.status === "cancelling") return this.finish(batch, "cancelled");
    if (batch.status !== "in_progress") return;
    const tenant = this.deps.tenantOf(batch.tenant);
    if (!tenant) {
      await store.updateBatch(batch.id, { status: "failed", failedAt: now(), errors: [{ code: "tenant_removed", message: `tenant '${batch.tenant}' is no longer configured` }] });
      return;
    }

    const controller = new AbortController();
    // Every line in flight listens on it (hundreds): not a leak.
    setMaxListeners(0, controller.signal);
    const active = (this.active = { id: batch.id, stop: false, controller });
    const output = batch.outputFileId!;
    const errorFile = batch.errorFileId;
    const answered = answeredFrom(await files.completeLines(output), errorFile ? await files.completeLines(errorFile) : []);
    const outputs = await files.appender(output);
    // The error file is made at the first error: most batches have none.
    let errors: Promise<LineAppender> | undefined = errorFile ? files.appender(errorFile) : undefined;
    const expired = () => batch.expiresAt !== null && now() >= batch.expiresAt;
    let lastProgress = performance.now();
    let latest: { completed: number; failed: number } | undefined;
    let trailing: NodeJS.Timeout | undefined;
    const writeProgress = () => {
      clearTimeout(trailing);
      trailing = undefined;
      lastProgress = performance.now();
      if (!latest) return;
      // In a fleet the cancel may have reached another replica: the stored status says so.
      void store
        .updateBatch(batch.id, latest)
        .then((stored) => {
          if (stored.status === "cancelling") this.halt(active);
        })
        .catch(() => undefined);
    };
    // With frontierBatch, a line's escalation may wait for the provider's batch: its deadline allows for that.
    const deadlineMs = settings.lineDeadlineMs + (settings.frontierBatch ? PROVIDER_BATCH_WAIT_MS : 0);
    const caller = (requestId: string): Caller => ({ tenant, requestId, signal: controller.signal, arrived: performance.now(), priority: "background", deadlineMs, frontierBatch: settings.frontierBatch });
    try {
      const result = await runJob(files.lines(batch.inputFileId), answered, {
        endpoint: batch.endpoint as BatchEndpoint,
        requestIdPrefix: batch.id,
        linesInFlight: settings.linesInFlight,
        lineRetries: settings.lineRetries,
        execute: (body, requestId) => executeLine(this.deps.core, batch.endpoint as BatchEndpoint, body, caller(requestId)),
        write: async (line, toErrors) => {
          if (!toErrors) return outputs.append(line);
          errors ??= this.newOutputFile(batch, "error").then(async (id) => {
            await store.updateBatch(batch.id, { errorFileId: id });
            return files.appender(id);
          });
          return (await errors).append(line);
        },
        stopped: () => active.stop || expired(),
        discard: () => controller.signal.aborted,
        sortWindow: () => !this.deps.core.classify.interactiveWithin(INTERACTIVE_QUIET_MS),
        onProgress: (counts) => {
          latest = counts;
          const wait = PROGRESS_EVERY_MS - (performance.now() - lastProgress);
          // The last counts before a lull (lines waiting on a provider's batch) are written too, a little later.
          if (wait > 0) trailing ??= setTimeout(writeProgress, wait);
          else writeProgress();
        },
      });
      clearTimeout(trailing);
      await store.updateBatch(batch.id, { completed: result.completed, failed: result.failed });
      if (this.stopping && !expired()) return; // resumed at the next start
      const current = (await store.getBatch(batch.id))!;
      await this.finish(current, current.status === "cancelling" ? "cancelled" : expired() && result.stoppedEarly ? "expired" : "completed");
    } finally {
      this.active = undefined;
      await outputs.close();
      await (await errors)?.close();
    }
  }

  /** Counts the input's lines and opens the output file: from here on the job can be resumed. */
  private async validate(batch: StoredBatch): Promise<StoredBatch> {
    const total = await this.deps.files.countLines(batch.inputFileId);
    const current = (await this.deps.store.getBatch(batch.id))!;
    if (current.status === "cancelling") return current;
    const outputFileId = await this.newOutputFile(batch, "output");
    return this.deps.store.updateBatch(batch.id, { status: "in_progress", inProgressAt: now(), total, outputFileId });
  }

  private async newOutputFile(batch: StoredBatch, kind: "output" | "error"): Promise<string> {
    const id = `file-${randomUUID().replaceAll("-", "")}`;
    await this.deps.files.appender(id).then((a) => a.close());
    await this.deps.store.addFile({ id, tenant: batch.tenant, purpose: "batch_output", filename: `${batch.id}_${kind}.jsonl`, bytes: 0, createdAt: now() });
    return id;
  }

  private async finish(batch: StoredBatch, status: "completed" | "cancelled" | "expired"): Promise<void> {
    const { store, files } = this.deps;
    for (const id of [batch.outputFileId, batch.errorFileId]) if (id) await store.setFileBytes(id, await files.bytes(id));
    const at = now();
    const patch = status === "completed" ? { finalizingAt: at, completedAt: at } : status === "cancelled" ? { cancelledAt: at } : { expiredAt: at };
    await store.updateBatch(batch.id, { status, ...patch });
    this.deps.log("info", `batch ${batch.id} ${status}: ${batch.completed} answered, ${batch.failed} failed of ${batch.total}`, { batch: batch.id });
  }
}
