import type { Lifecycle } from "./lifecycle.js";
import type { ServerConfig } from "../config/schema.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelRegistry } from "../models/model-registry.js";
import type { Cascade } from "../escalation/create-cascade.js";
import type { Tenant } from "../auth/tenants.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { CascadeResult } from "./cascade-results.js";

/** What the routes need, passed explicitly: nothing global, so tests can run several servers in one process. */
export interface ServerContext {
  config: Readonly<ServerConfig>;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  cascade: Cascade;
  cache: ResponseCache<CascadeResult>;
  lifecycle: Lifecycle;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The served model this request used, for metric labels (never an arbitrary client string). */
    metricsModel?: string;
    /** Who is calling, set by the authentication hook on every non-public route. */
    tenant?: Tenant;
  }
}
