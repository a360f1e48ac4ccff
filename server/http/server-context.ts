import type { Lifecycle } from "./lifecycle.js";
import type { ServingCore } from "../serving/serving-core.js";
import type { Tenant } from "../auth/tenants.js";
import type { BatchService } from "../batch/batch-service.js";

/** What the routes need, passed explicitly: the serving core, the Batch API and the server's lifecycle. Nothing global. */
export interface ServerContext extends ServingCore {
  lifecycle: Lifecycle;
  /** Unset when `batch.enabled` is false. */
  batch?: BatchService;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The served model this request used, for metric labels (never an arbitrary client string). */
    metricsModel?: string;
    /** Who is calling, set by the authentication hook on every non-public route. */
    tenant?: Tenant;
  }
}
