import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServerContext } from "../server-context.js";
import { ModelsResponse } from "../schemas.js";
import type { PlacementInfo } from "../../backends/backend.js";

const placementBody = (p: PlacementInfo) => ({ provider: p.provider, device: p.device, workers: p.workers, threads_per_worker: p.threadsPerWorker });

export const modelsRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/v1/models", { schema: { summary: "The models this server serves and their state.", response: { 200: ModelsResponse } } }, async () => ({
    models: context.registry.list().map((state) => {
      const m = state.manifest;
      const canary = context.registry.canaryOf(m.name);
      return {
        name: m.name,
        version: m.version,
        format: m.format,
        task: m.task,
        labels: m.labels,
        threshold: m.threshold,
        status: state.status,
        ...(state.status === "failed" ? { error: { code: state.error.code, message: state.error.message } } : {}),
        ...(state.status === "ready" ? { placement: { ...placementBody(state.backend.placement), ...(state.backend.placement.replicas ? { replicas: state.backend.placement.replicas.map(placementBody) } : {}) } } : {}),
        ...(canary ? { canary } : {}),
        limits: { max_tokens: m.limits.maxTokens, max_chars: m.limits.maxChars, max_inputs_per_request: m.limits.maxInputsPerRequest },
        batching: { max_batch_size: m.batching.maxBatchSize, max_queue_delay_ms: m.batching.maxQueueDelayMs, max_queue_size: m.batching.maxQueueSize },
      };
    }),
  }));
};
