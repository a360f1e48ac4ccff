import { z } from "zod";

/** The OpenAI-compatible Batch API: uploaded files, batch jobs run at background priority, their outputs. */
export const BatchSettings = z
  .object({
    /** Off: the /v1/files and /v1/batches routes answer 404. */
    enabled: z.boolean().default(true),
    /** Folder of uploaded files and batch outputs (created if missing); their records live in the ledger. */
    filesDir: z.string().min(1).default("data/files"),
    /** Largest upload (bytes); larger uploads get 413. */
    maxFileBytes: z.number().int().min(1024).max(2 ** 33).default(200 * 2 ** 20),
    /** Lines of a batch run at once, each at background priority behind interactive requests. */
    linesInFlight: z.number().int().min(1).max(4096).default(256),
    /** Time one line may take, queueing behind interactive traffic and its escalation included. */
    lineDeadlineMs: z.number().int().min(1_000).max(24 * 3_600_000).default(600_000),
    /** A line that failed for a passing reason (queue full, deadline, a worker restarting) is tried this many more times. */
    lineRetries: z.number().int().min(0).max(20).default(5),
    /**
     * A batch's escalations go to the provider's own Batch API (OpenAI: half price, answers within 24 h) instead of
     * one call each; the job completes when they come back. For providers of kind `openai`; others are called as usual.
     */
    frontierBatch: z.boolean().default(false),
    /** An escalation waits at most this long for others to go to the provider with it. */
    frontierBatchFlushMs: z.number().int().min(10).max(3_600_000).default(5_000),
    /** Requests in one provider batch at most (OpenAI accepts 50,000). */
    frontierBatchMaxRequests: z.number().int().min(1).max(50_000).default(10_000),
    /** How often a provider batch's status is asked. */
    frontierBatchPollMs: z.number().int().min(10).max(3_600_000).default(30_000),
    /** The provider's batch price as a share of its list price (OpenAI's Batch API: 0.5). */
    frontierBatchPriceFactor: z.number().gt(0).max(1).default(0.5),
  })
  .strict();

export type BatchSettings = z.infer<typeof BatchSettings>;
