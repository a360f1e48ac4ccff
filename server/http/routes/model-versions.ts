import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireAdmin } from "../../auth/tenants.js";
import type { ServerContext } from "../server-context.js";
import { ErrorBody } from "../schemas.js";
import { CanaryReportBody, CanaryStart, PromoteResult, ReloadBody, ReloadResult, canaryBody, gateBody } from "../version-schemas.js";

const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
const params = z.object({ name: z.string() });

/** Version changes of a served model: reload, and the canary's start, report, promotion and rollback. */
export const modelVersionRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry } = context;

  app.post(
    "/admin/models/:name/reload",
    {
      schema: {
        summary:
          "Load a model version beside the current one, warm it up, run its golden-file gate when configured, and swap it in; in-flight requests finish on the old one. A version that fails to load or fails the gate leaves the current one serving.",
        params,
        body: ReloadBody.optional(),
        response: { 200: ReloadResult, ...errors },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const result = await registry.reload(name, { version: request.body?.version, gate: request.body?.gate, trigger: "admin", by: { actor: request.tenant!.id, reason: request.body?.reason } });
      request.log.warn(`model ${name} reloaded to version ${result.current} (was ${result.previous}) by tenant '${request.tenant!.id}'`);
      return { model: name, previous_version: result.previous ?? null, version: result.current, load_ms: result.loadMs, gate: gateBody(result.gate), unreadable: registry.problemsOf(name) };
    },
  );

  app.post(
    "/admin/models/:name/canary",
    {
      schema: {
        summary: "Start a canary: load a candidate version beside the current one (through the gate when configured) and send it a share of the classification traffic; again with the same version, change the share.",
        params,
        body: CanaryStart,
        response: { 200: CanaryReportBody, ...errors },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const report = await registry.startCanary(name, { version: request.body.version, share: request.body.share, gate: request.body.gate, by: { actor: request.tenant!.id, reason: request.body.reason } });
      request.log.warn(`model ${name}: canary ${report.candidateVersion} at share ${report.share} set by tenant '${request.tenant!.id}'`);
      return canaryBody(report);
    },
  );

  app.get(
    "/admin/models/:name/canary",
    { schema: { summary: "The running canary: traffic, agreement with the current version and latency of both on the same inputs.", params, response: { 200: CanaryReportBody, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      return canaryBody(registry.canaryReport(request.params.name));
    },
  );

  app.post(
    "/admin/models/:name/canary/promote",
    { schema: { summary: "The canary becomes the serving version; the replaced one finishes its requests and is released.", params, response: { 200: PromoteResult, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const result = await registry.promoteCanary(name, { actor: request.tenant!.id });
      request.log.warn(`model ${name}: canary ${result.current} promoted (was ${result.previous}) by tenant '${request.tenant!.id}'`);
      return { model: name, previous_version: result.previous, version: result.current, canary: canaryBody(result.report) };
    },
  );

  app.post(
    "/admin/models/:name/canary/rollback",
    { schema: { summary: "Stop the canary: all traffic goes back to the serving version and the candidate is released.", params, response: { 200: CanaryReportBody, ...errors } } },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const report = await registry.rollbackCanary(name, { actor: request.tenant!.id });
      request.log.warn(`model ${name}: canary ${report.candidateVersion} rolled back by tenant '${request.tenant!.id}'`);
      return canaryBody(report);
    },
  );
};
