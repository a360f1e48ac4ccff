import type { Lifecycle } from "./lifecycle.js";
import type { ServingCore } from "../serving/serving-core.js";
import type { Tenant } from "../auth/tenants.js";

/** What the routes need, passed explicitly: the serving core and the server's lifecycle. Nothing global. */
export interface ServerContext extends ServingCore {
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
