import { performance } from "node:perf_hooks";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ServingError } from "../../errors/registry.js";
import type { ServerContext } from "../server-context.js";
import { ClassifyBody, ClassifyResponse, ErrorBody } from "../schemas.js";
import { disconnectSignal } from "../disconnect-signal.js";

export const classifyRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry, config, metrics } = context;
  app.post(
    "/v1/classify",
    {
      schema: {
        summary: "Classify one text or a list of texts with a served model.",
        body: ClassifyBody,
        response: { 200: ClassifyResponse, "4xx": ErrorBody, "5xx": ErrorBody },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const { model: name, input, deadline_ms } = request.body;
      const backend = registry.get(name);
      const manifest = backend.manifest;
      request.metricsModel = manifest.name;
      const texts = typeof input === "string" ? [input] : input;
      if (texts.length > manifest.limits.maxInputsPerRequest) {
        throw new ServingError("ERR_TOO_MANY_INPUTS", `${texts.length} inputs in one request; model '${name}' accepts at most ${manifest.limits.maxInputsPerRequest}: split the list`);
      }
      const deadlineMs = Math.min(deadline_ms ?? config.server.requestDeadlineMs, config.server.maxRequestDeadlineMs);
      const result = await backend.classify(texts, { deadline: started + deadlineMs, signal: disconnectSignal(reply) });
      let tokens = 0;
      const results = result.outputs.map((o) => {
        tokens += o.tokens;
        const below = o.confidence < manifest.threshold;
        metrics.predictions.inc({ model: manifest.name, label: o.label, confident: below ? "false" : "true" });
        return {
          label: o.label,
          score: o.score,
          scores: o.scores,
          confidence: o.confidence,
          below_threshold: below,
          truncated: o.truncated,
          tokens: o.tokens,
        };
      });
      return {
        model: manifest.name,
        version: manifest.version,
        results,
        usage: { inputs: texts.length, tokens },
        timings: { queue_ms: result.queueMs, compute_ms: result.computeMs, total_ms: performance.now() - started },
      };
    },
  );
};
