import { z } from "zod";
import type { StoredBatch, StoredFile } from "../state/batch-store.js";
import { BATCH_ENDPOINTS } from "./batch-lines.js";

/** OpenAI's Batch API shapes, so the official clients' `files` and `batches` methods work unchanged. */

export const CreateBatchBody = z
  .object({
    input_file_id: z.string().min(1),
    endpoint: z.enum(BATCH_ENDPOINTS),
    completion_window: z.literal("24h").describe("The only window OpenAI offers; the job expires after it."),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata keys")
      .nullish(),
  })
  .strict();

export const FileObject = z.object({
  id: z.string(),
  object: z.literal("file"),
  bytes: z.number(),
  created_at: z.number(),
  filename: z.string(),
  purpose: z.enum(["batch", "batch_output"]),
  status: z.literal("processed"),
});

export const FileList = z.object({ object: z.literal("list"), data: z.array(FileObject), has_more: z.boolean() });

export const BatchObject = z.object({
  id: z.string(),
  object: z.literal("batch"),
  endpoint: z.string(),
  errors: z.object({ object: z.literal("list"), data: z.array(z.object({ code: z.string(), message: z.string(), line: z.number().nullable() })) }).nullable(),
  input_file_id: z.string(),
  completion_window: z.string(),
  status: z.enum(["validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"]),
  output_file_id: z.string().nullable(),
  error_file_id: z.string().nullable(),
  created_at: z.number(),
  in_progress_at: z.number().nullable(),
  expires_at: z.number().nullable(),
  finalizing_at: z.number().nullable(),
  completed_at: z.number().nullable(),
  failed_at: z.number().nullable(),
  expired_at: z.number().nullable(),
  cancelling_at: z.number().nullable(),
  cancelled_at: z.number().nullable(),
  request_counts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }),
  metadata: z.record(z.string(), z.string()).nullable(),
});

export const BatchList = z.object({ object: z.literal("list"), data: z.array(BatchObject), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() });

export function fileObject(file: StoredFile): z.infer<typeof FileObject> {
  return { id: file.id, object: "file", bytes: file.bytes, created_at: file.createdAt, filename: file.filename, purpose: file.purpose, status: "processed" };
}

export function batchObject(b: StoredBatch): z.infer<typeof BatchObject> {
  return {
    id: b.id,
    object: "batch",
    endpoint: b.endpoint,
    errors: b.errors ? { object: "list", data: b.errors.map((e) => ({ code: e.code, message: e.message, line: e.line ?? null })) } : null,
    input_file_id: b.inputFileId,
    completion_window: b.completionWindow,
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: b.createdAt,
    in_progress_at: b.inProgressAt,
    expires_at: b.expiresAt,
    finalizing_at: b.finalizingAt,
    completed_at: b.completedAt,
    failed_at: b.failedAt,
    expired_at: b.expiredAt,
    cancelling_at: b.cancellingAt,
    cancelled_at: b.cancelledAt,
    request_counts: { total: b.total, completed: b.completed, failed: b.failed },
    metadata: b.metadata,
  };
}
