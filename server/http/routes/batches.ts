import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { BatchService } from "../../batch/batch-service.js";
import { BatchList, BatchObject, batchObject, CreateBatchBody, FileList, FileObject, fileObject } from "../../batch/batch-protocol.js";
import { ServingError } from "../../errors/registry.js";
import type { StoredFile } from "../../state/batch-store.js";
import { ErrorBody } from "../schemas.js";

const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
const Id = z.object({ id: z.string().min(1).max(200) }).strict();
const Limit = z.coerce.number().int().min(1).max(100).default(20);

/** OpenAI's Files and Batches routes over the batch service: what the official clients call. */
export const batchRoutes: FastifyPluginAsyncZod<{ batch: BatchService; maxFileBytes: number }> = async (app, { batch, maxFileBytes }) => {
  await app.register(multipart, { limits: { fileSize: maxFileBytes, files: 1, fields: 10, parts: 12 } });

  app.post("/v1/files", { schema: { summary: "Upload a JSONL file of batch requests (multipart: `file`, `purpose=batch`).", response: { 200: FileObject, ...errors } } }, async (request) => {
    if (!request.isMultipart()) throw new ServingError("ERR_UNSUPPORTED_MEDIA_TYPE", "upload the file as multipart/form-data with the fields `file` and `purpose`");
    let purpose: string | undefined;
    let file: StoredFile | undefined;
    for await (const part of request.parts()) {
      if (part.type === "field") {
        if (part.fieldname === "purpose") purpose = String(part.value);
      } else if (part.fieldname === "file" && !file) {
        file = await batch.upload(request.tenant!, part.filename, part.file);
      } else {
        part.file.resume();
      }
    }
    if (!file) throw new ServingError("ERR_INVALID_REQUEST", "no `file` part in the upload");
    if (purpose !== "batch") {
      await batch.deleteFile(request.tenant!, file.id);
      throw new ServingError("ERR_INVALID_REQUEST", `purpose: '${purpose ?? "(missing)"}'; this server accepts files for purpose "batch"`);
    }
    return fileObject(file);
  });

  app.get("/v1/files", { schema: { summary: "The caller's files, newest first.", querystring: z.object({ limit: Limit, purpose: z.string().optional() }).strict(), response: { 200: FileList, ...errors } } }, async (request) => {
    const files = await batch.listFiles(request.tenant!, request.query.limit);
    return { object: "list" as const, data: files.filter((f) => !request.query.purpose || f.purpose === request.query.purpose).map(fileObject), has_more: files.length === request.query.limit };
  });

  app.get("/v1/files/:id", { schema: { summary: "A file's description.", params: Id, response: { 200: FileObject, ...errors } } }, async (request) => fileObject(await batch.file(request.tenant!, request.params.id)));

  app.get("/v1/files/:id/content", { schema: { summary: "A file's contents (JSONL).", params: Id } }, async (request, reply) => {
    const file = await batch.file(request.tenant!, request.params.id);
    return reply.type("application/jsonl").send(batch.content(file));
  });

  app.delete(
    "/v1/files/:id",
    { schema: { summary: "Delete a file.", params: Id, response: { 200: z.object({ id: z.string(), object: z.literal("file"), deleted: z.boolean() }), ...errors } } },
    async (request) => ({ id: (await batch.deleteFile(request.tenant!, request.params.id)).id, object: "file" as const, deleted: true }),
  );

  app.post(
    "/v1/batches",
    { schema: { summary: "Run every line of an uploaded file through an endpoint, at background priority.", body: CreateBatchBody, response: { 200: BatchObject, ...errors } } },
    async (request) => batchObject(await batch.create(request.tenant!, request.body)),
  );

  app.get(
    "/v1/batches",
    { schema: { summary: "The caller's batches, newest first.", querystring: z.object({ limit: Limit, after: z.string().optional() }).strict(), response: { 200: BatchList, ...errors } } },
    async (request) => {
      const batches = await batch.listBatches(request.tenant!, request.query.limit, request.query.after);
      return { object: "list" as const, data: batches.map(batchObject), first_id: batches[0]?.id ?? null, last_id: batches.at(-1)?.id ?? null, has_more: batches.length === request.query.limit };
    },
  );

  app.get("/v1/batches/:id", { schema: { summary: "A batch, with its status and counts.", params: Id, response: { 200: BatchObject, ...errors } } }, async (request) =>
    batchObject(await batch.batch(request.tenant!, request.params.id)),
  );

  app.post("/v1/batches/:id/cancel", { schema: { summary: "Cancel a batch: running lines finish, the rest are not run.", params: Id, response: { 200: BatchObject, ...errors } } }, async (request) =>
    batchObject(await batch.cancel(request.tenant!, request.params.id)),
  );
};
