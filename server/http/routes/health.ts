import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServerContext } from "../server-context.js";
import { HealthResponse, ReadyResponse } from "../schemas.js";

export const healthRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/healthz", { schema: { summary: "Liveness: the process answers.", response: { 200: HealthResponse } } }, async () => ({ status: "ok" }));

  app.get(
    "/readyz",
    { schema: { summary: "Readiness: every served model is loaded and warmed up.", response: { 200: ReadyResponse, 503: ReadyResponse } } },
    async (_request, reply) => {
      const models = Object.fromEntries(context.registry.list().map((s) => [s.manifest.name, s.status]));
      const status = context.lifecycle.shuttingDown ? "shutting_down" : context.registry.ready ? "ready" : "not_ready";
      return reply.status(status === "ready" ? 200 : 503).send({ status, models });
    },
  );

  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    reply.header("content-type", context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
};
