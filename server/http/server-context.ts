import type { ServerConfig } from "../config/schema.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelRegistry } from "../models/model-registry.js";

/** What the routes need, passed explicitly: nothing global, so tests can run several servers in one process. */
export interface ServerContext {
  config: Readonly<ServerConfig>;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  lifecycle: { shuttingDown: boolean };
}

declare module "fastify" {
  interface FastifyRequest {
    /** The served model this request used, for metric labels (never an arbitrary client string). */
    metricsModel?: string;
  }
}
