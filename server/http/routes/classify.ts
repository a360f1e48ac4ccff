import { performance } from "node:perf_hooks";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ServingError } from "../../errors/registry.js";
import type { ServerContext } from "../server-context.js";
import { ClassifyBody, ClassifyResponse, ErrorBody } from "../schemas.js";
import { disconnectSignal } from "../disconnect-signal.js";
import { cascadeResults, type CascadeResult } from "../cascade-results.js";
import { classifyRouted } from "../../models/canary.js";

/** A cached answer as served now: nothing was escalated, paid for or queued by this request. */
function fromCache(hit: CascadeResult): CascadeResult {
  const { frontier: _frontier, review_id: _review, ...rest } = hit;
  return { ...rest, served_by: "cache", cached_from: hit.served_by === "frontier" ? "frontier" : "specialist", escalated: false, degraded: false };
}

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
      const { model: name, input, deadline_ms, route } = request.body;
      const routed = registry.route(name);
      let manifest = routed.backend.manifest;
      request.metricsModel = manifest.name;
      const texts = typeof input === "string" ? [input] : input;
      if (texts.length > manifest.limits.maxInputsPerRequest) {
        throw new ServingError("ERR_TOO_MANY_INPUTS", `${texts.length} inputs in one request; model '${name}' accepts at most ${manifest.limits.maxInputsPerRequest}: split the list`);
      }
      const deadlineMs = Math.min(deadline_ms ?? config.server.requestDeadlineMs, config.server.maxRequestDeadlineMs);
      const deadline = started + deadlineMs;
      const signal = disconnectSignal(reply);
      const tenant = request.tenant!;
      // A forced route asks for a particular server, and a canary is measured on its own answers: the cache serves neither.
      const cached = route === "cascade" && !routed.canary;
      const hits = texts.map((text) => (cached ? context.cache.get(tenant.id, manifest, text) : undefined));
      const missing = texts.filter((_, i) => !hits[i]);
      let timings = { queueMs: 0, computeMs: 0 };
      let fresh: CascadeResult[] = [];
      let costUsd = 0;
      let frontierMs = 0;
      if (missing.length > 0) {
        const { backend, result: specialist } = await classifyRouted(routed, missing, { deadline, signal });
        manifest = backend.manifest;
        timings = specialist;
        ({ results: fresh, costUsd, frontierMs } = await cascadeResults(context, { backend, texts: missing, outputs: specialist.outputs, tenant, requestId: request.id, deadline, signal, route }));
        fresh.forEach((result, k) => {
          // A degraded answer is not kept: the next identical request should get its chance at the frontier.
          if (cached && !result.degraded) context.cache.set(tenant.id, manifest, missing[k]!, result);
        });
      }
      let next = 0;
      const results = hits.map((hit) => (hit ? fromCache(hit) : fresh[next++]!));
      return {
        model: manifest.name,
        version: manifest.version,
        results,
        usage: { inputs: texts.length, tokens: results.reduce((sum, r) => sum + r.tokens, 0), cost_usd: costUsd },
        timings: { queue_ms: timings.queueMs, compute_ms: timings.computeMs, frontier_ms: frontierMs, total_ms: performance.now() - started },
      };
    },
  );
};
