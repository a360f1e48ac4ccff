import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { ServerConfig } from "../config/schema.js";
import { ServingMetrics } from "../metrics/serving-metrics.js";
import { BatchService } from "../batch/batch-service.js";
import { createServingCore } from "../serving/serving-core.js";
import { buildApp } from "./build-app.js";
import type { ServerContext } from "./server-context.js";
import { Lifecycle } from "./lifecycle.js";
import { RepositoryWatcher } from "../models/repository-watcher.js";

export interface RunningServer {
  app: FastifyInstance;
  context: ServerContext;
  /** Base URL of the listener, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Readiness off, refuse new work, finish queued work within the grace period, close connections, stop workers. */
  close(): Promise<void>;
}

/** Loads the models, then listens. Nothing here is global: tests start several servers side by side. */
export async function startServer(config: Readonly<ServerConfig>): Promise<RunningServer> {
  const metrics = new ServingMetrics({ defaultMetrics: config.metrics.defaultMetrics });
  const lifecycle = new Lifecycle();
  const logger = pino({ level: config.server.logLevel });
  const log = (level: "debug" | "info" | "warn" | "error", message: string, fields: Record<string, unknown> = {}) => logger[level](fields, message);
  const core = await createServingCore(config, metrics, log);
  const { registry } = core;
  let app: FastifyInstance;
  let context: ServerContext;
  try {
    const batch = config.batch.enabled
      ? await BatchService.open(core.batches, config.batch, { core, tenantOf: (id) => core.tenants.get(id), log })
      : undefined;
    context = { ...core, lifecycle, ...(batch ? { batch } : {}) };
    app = await buildApp(context, logger);
    await app.listen({ host: config.server.host, port: config.server.port });
    await batch?.start();
  } catch (error) {
    await registry.dispose();
    await core.close();
    throw error;
  }
  const watcher = new RepositoryWatcher(registry, config, log);
  watcher.start();
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.server.port;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.shuttingDown = true;
      watcher.stop();
      const grace = setTimeout(() => app.server.closeAllConnections(), config.server.shutdownGraceMs);
      grace.unref();
      try {
        // The listener stays open while queued and in-flight work finishes: /readyz answers 503 shutting_down and new
        // /v1 requests 503 ERR_SHUTTING_DOWN with `connection: close`, so load balancers and callers see why.
        // Batch jobs stop taking lines; those running finish (or are left for the next start to run again).
        const drained = Promise.all([registry.drain(), lifecycle.idle(), context.batch?.stop()]);
        await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, config.server.shutdownGraceMs).unref())]);
        await app.close();
      } finally {
        clearTimeout(grace);
        await registry.dispose();
        await context.close();
      }
    })());
  return { app, context, url: `http://${host}:${port}`, close };
}
