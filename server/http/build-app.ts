import swagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { ServingError } from "../errors/registry.js";
import { errorHandler, sendError } from "./error-handler.js";
import { classifyRoute } from "./routes/classify.js";
import { adminRoutes } from "./routes/admin.js";
import { batchRoutes } from "./routes/batches.js";
import { completionRoutes } from "./routes/completions.js";
import { healthRoutes } from "./routes/health.js";
import { modelsRoute } from "./routes/models.js";
import { modelVersionRoutes } from "./routes/model-versions.js";
import { modelLifecycleRoutes } from "./routes/model-lifecycle.js";
import { embeddingsRoute } from "./routes/embeddings.js";
import { meRoute } from "./routes/me.js";
import { driftRoutes } from "./routes/drift.js";
import { consoleRoutes, defaultConsoleAssets } from "./routes/console.js";
import type { ServerContext } from "./server-context.js";

const PACKAGE_VERSION = "0.1.0";
/** Probes, scraping and the API description need no key; everything else does (when tenants are configured). */
const PUBLIC_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json", "/console"]);
// The console's files are public; a path that climbs out of /console/ is not.
const isPublic = (path: string) => PUBLIC_PATHS.has(path) || (path.startsWith("/console/") && !path.includes(".."));

/** The HTTP layer: routes, validation, errors, metrics hooks. It knows models only through the registry. */
export async function buildApp(context: ServerContext, logger: Logger): Promise<FastifyInstance> {
  const { config, metrics, lifecycle } = context;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimitBytes,
    // Per-request lines at info level would cost more than a batched inference; onResponse logs at debug instead.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: "x-request-id",
    return503OnClosing: true,
    forceCloseConnections: "idle",
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ServingError("ERR_ROUTE_NOT_FOUND", `no endpoint ${request.method} ${request.url.split("?")[0]}; see GET /openapi.json`)),
  );
  // Only JSON bodies: a text/plain body must get 415, not a confusing schema error.
  app.removeContentTypeParser("text/plain");

  app.addHook("onRequest", async (request, reply) => {
    metrics.inFlight.inc();
    const leave = lifecycle.enter();
    reply.raw.once("close", () => {
      metrics.inFlight.dec();
      leave();
    });
    reply.header("x-request-id", request.id);
    if (lifecycle.shuttingDown && request.url.startsWith("/v1/")) throw new ServingError("ERR_SHUTTING_DOWN");
    if (!isPublic(request.url.split("?")[0]!)) request.tenant = context.tenants.authenticate(request.headers.authorization);
  });
  app.addHook("onSend", async (_request, reply) => {
    // A keep-alive connection left open would hold shutdown until its idle timeout.
    if (lifecycle.shuttingDown) reply.header("connection", "close");
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug({ url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, "request completed");
    metrics.requestDuration.observe(
      {
        route: request.routeOptions.url ?? "unmatched",
        method: request.method,
        status: String(reply.statusCode),
        model: request.metricsModel ?? "",
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: { title: "specialist-serve", version: PACKAGE_VERSION, description: "Self-hosted specialist models with calibrated confidence." },
    },
    transform: jsonSchemaTransform,
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { context });
  await app.register(modelsRoute, { context });
  await app.register(classifyRoute, { context });
  await app.register(embeddingsRoute, { context });
  await app.register(adminRoutes, { context });
  await app.register(modelVersionRoutes, { context });
  await app.register(modelLifecycleRoutes, { context });
  await app.register(completionRoutes, { context });
  await app.register(meRoute, { context });
  await app.register(driftRoutes, { context });
  if (config.console.enabled) await app.register(consoleRoutes, { assets: config.console.assets ?? defaultConsoleAssets() });
  if (context.batch) await app.register(batchRoutes, { batch: context.batch, maxFileBytes: config.batch.maxFileBytes });
  return app;
}
