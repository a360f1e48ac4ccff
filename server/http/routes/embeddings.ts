import { performance } from "node:perf_hooks";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { EmbeddingRequest, EmbeddingResponse } from "../../serving/embedding-protocol.js";
import { callerOf } from "../caller.js";
import { ErrorBody } from "../schemas.js";
import type { ServerContext } from "../server-context.js";

export const embeddingsRoute: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  app.post(
    "/v1/embeddings",
    {
      schema: {
        summary: "Embed one text or a list of texts with a served embedding model (OpenAI's embeddings shape).",
        body: EmbeddingRequest,
        response: { 200: EmbeddingResponse, "4xx": ErrorBody, "5xx": ErrorBody },
      },
    },
    async (request, reply) => context.embeddings.embed(request.body, callerOf(request, reply, performance.now())),
  );
};
