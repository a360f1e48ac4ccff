import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireAdmin } from "../../auth/tenants.js";
import type { ServerContext } from "../server-context.js";
import { ServingError } from "../../errors/registry.js";
import { ErrorBody } from "../schemas.js";
import { HistoryQuery, HistoryResult, LoadBody, LoadResult, UnloadQuery, UnloadResult, gateBody } from "../version-schemas.js";

const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
const params = z.object({ name: z.string() });

/** Models added to and taken out of service without a restart, and the decisions that last across restarts. */
export const modelLifecycleRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry } = context;

  app.post(
    "/admin/models/:name/load",
    {
      schema: {
        summary: "Serve a model of the repository that is not served, without a restart (its gate runs when configured); the model is served again at the next start-up.",
        params,
        body: LoadBody.optional(),
        response: { 200: LoadResult, ...errors },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const by = { actor: request.tenant!.id, reason: request.body?.reason };
      const result = await registry.add(name, { version: request.body?.version, gate: request.body?.gate, by });
      request.log.warn(`model ${name} version ${result.version} loaded by tenant '${by.actor}'`);
      return { model: name, version: result.version, load_ms: result.loadMs, gate: gateBody(result.gate) };
    },
  );

  app.delete(
    "/admin/models/:name",
    {
      schema: {
        summary: "Take a model out of service: new requests get 404 at once, queued and running ones finish, then it is unloaded. It stays out across restarts until loaded again.",
        params,
        querystring: UnloadQuery,
        response: { 200: UnloadResult, ...errors },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const result = await registry.remove(name, { actor: request.tenant!.id, reason: request.query.reason });
      request.log.warn(`model ${name} (version ${result.version}) unloaded by tenant '${request.tenant!.id}'`);
      return { model: name, version: result.version, drain_ms: result.drainMs };
    },
  );

  app.get(
    "/admin/models/:name/history",
    {
      schema: {
        summary: "The model's recorded decisions (reloads, rollbacks, promotions, gate rejections, loads and unloads), newest first, and what they mean at the next start-up.",
        params,
        querystring: HistoryQuery,
        response: { 200: HistoryResult, ...errors },
      },
    },
    async (request) => {
      requireAdmin(request.tenant!);
      const { name } = request.params;
      const [decisions, standing] = await Promise.all([registry.history(name, request.query.limit), registry.standing(name)]);
      if (decisions.length === 0 && !registry.list().some((state) => state.manifest.name === name)) {
        throw new ServingError("ERR_MODEL_NOT_FOUND", `no model named '${name}' is served or has recorded decisions; GET /v1/models lists the served models`);
      }
      return {
        model: name,
        start_up: { version: standing.serving?.version ?? null, removed: standing.removed !== undefined, rejected_versions: [...standing.rejected.keys()] },
        decisions: decisions.map((d) => ({ time: d.time, action: d.action, version: d.version, actor: d.actor, reason: d.reason })),
      };
    },
  );
};
