import { performance } from "node:perf_hooks";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ClassifyRequest, ClassifyResponse } from "../../serving/classify-protocol.js";
import { callerOf } from "../caller.js";
import { ErrorBody } from "../schemas.js";
import type { ServerContext } from "../server-context.js";

export const classifyRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.post(
    "/v1/classify",
    {
      schema: {
        summary: "Classify one text or a list of texts with a served model; inputs below its threshold go to the frontier.",
        body: ClassifyRequest,
        response: { 200: ClassifyResponse, "4xx": ErrorBody, "5xx": ErrorBody },
      },
    },
    async (request, reply) => context.classify.classify(request.body, callerOf(request, reply, performance.now())),
  );
};
