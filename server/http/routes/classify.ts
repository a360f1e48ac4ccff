import { performance } from "node:perf_hooks";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ServingError } from "../../errors/registry.js";
import type { ServerContext } from "../server-context.js";
import { ClassifyBody, ClassifyResponse, ErrorBody } from "../schemas.js";
import { disconnectSignal } from "../disconnect-signal.js";
import { cascadeResults } from "../cascade-results.js";

export const classifyRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry, config } = context;
  app.post(
    "/v1/classify",
    {
      schema: {
        summary: "Classify one text or a list of texts with a served model; inputs below its threshold go to the frontier.",
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
      const deadline = started + deadlineMs;
      const signal = disconnectSignal(reply);
      const specialist = await backend.classify(texts, { deadline, signal });
      const { results, costUsd, frontierMs } = await cascadeResults(context, {
        backend,
        texts,
        outputs: specialist.outputs,
        tenant: request.tenant!,
        deadline,
        signal,
      });
      return {
        model: manifest.name,
        version: manifest.version,
        results,
        usage: { inputs: texts.length, tokens: results.reduce((sum, r) => sum + r.tokens, 0), cost_usd: costUsd },
        timings: { queue_ms: specialist.queueMs, compute_ms: specialist.computeMs, frontier_ms: frontierMs, total_ms: performance.now() - started },
      };
    },
  );
};
