import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ServerContext } from "../server-context.js";
import { ErrorBody, ModelDescription, ModelsResponse } from "../schemas.js";
import type { PlacementInfo } from "../../backends/backend.js";
import { ServingError } from "../../errors/registry.js";
import type { ModelState } from "../../models/model-registry.js";

const placementBody = (p: PlacementInfo) => ({ provider: p.provider, device: p.device, workers: p.workers, threads_per_worker: p.threadsPerWorker });

export const modelsRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const unreadableOf = (name: string) => context.registry.problemsOf(name);

  const describe = (state: ModelState): z.input<typeof ModelDescription> => {
    const m = state.manifest;
    const canary = context.registry.canaryOf(m.name);
    const unreadable = unreadableOf(m.name);
    return {
      id: m.name,
      object: "model",
      created: context.registry.knownSince(m),
      owned_by: "specialist-serve",
      name: m.name,
      version: m.version,
      format: m.format,
      task: m.task,
      labels: m.labels,
      ...(m.multiLabel ? { multi_label: true } : {}),
      ...(m.embedding ? { dimensions: m.embedding.dimensions } : {}),
      threshold: m.threshold,
      status: state.status,
      ...(state.status === "failed" ? { error: { code: state.error.code, message: state.error.message } } : {}),
      ...(state.status === "ready" ? { placement: { ...placementBody(state.backend.placement), ...(state.backend.placement.replicas ? { replicas: state.backend.placement.replicas.map(placementBody) } : {}) } } : {}),
      ...(canary ? { canary } : {}),
      ...(unreadable.length > 0 ? { unreadable } : {}),
      limits: { max_tokens: m.limits.maxTokens, max_chars: m.limits.maxChars, max_inputs_per_request: m.limits.maxInputsPerRequest },
      batching: { max_batch_size: m.batching.maxBatchSize, max_queue_delay_ms: m.batching.maxQueueDelayMs, max_queue_size: m.batching.maxQueueSize },
    };
  };

  /** A model none of whose folders could be read: failed, with the first folder's error. */
  const describeUnreadable = (name: string): z.input<typeof ModelDescription> => {
    const unreadable = unreadableOf(name);
    return { id: name, object: "model", created: context.registry.startedAt, owned_by: "specialist-serve", name, status: "failed", error: { code: unreadable[0]!.code, message: unreadable[0]!.message }, unreadable };
  };

  const everything = () => {
    const states = context.registry.list();
    const unread = [...new Set(context.registry.unreadableFolders().map((bad) => bad.name))].filter((name) => !states.some((s) => s.manifest.name === name));
    return [...states.map(describe), ...unread.map(describeUnreadable)];
  };

  app.get("/v1/models", { schema: { summary: "The models this server serves and their state (OpenAI's list shape).", response: { 200: ModelsResponse } } }, async () => ({
    object: "list" as const,
    data: everything(),
  }));

  app.get(
    "/v1/models/:id",
    { schema: { summary: "One served model (OpenAI's model object, with our fields).", params: z.object({ id: z.string() }), response: { 200: ModelDescription, 404: ErrorBody } } },
    async (request) => {
      const found = everything().find((entry) => entry.id === request.params.id);
      if (!found) throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${request.params.id}'; GET /v1/models lists the served models`);
      return found;
    },
  );
};
