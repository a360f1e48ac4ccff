import { performance } from "node:perf_hooks";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ServingError } from "../../errors/registry.js";
import { ChatCompletionBody, ChatCompletionResponse, CompletionBody, CompletionResponse } from "../../serving/completion-protocol.js";
import type { Completion, CompletionRequest } from "../../serving/completion-serving.js";
import { callerOf } from "../caller.js";
import { ErrorBody } from "../schemas.js";
import type { ServerContext } from "../server-context.js";

/**
 * OpenAI-compatible text generation: POST /v1/completions and /v1/chat/completions, with `stream: true` as
 * server-sent events in OpenAI's chunk format ending with `data: [DONE]`. A client that goes away stops the generation.
 */
export const completionRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  async function serve<Chat extends boolean>(body: CompletionRequest, chat: Chat, request: FastifyRequest, reply: FastifyReply): Promise<Completion<Chat> | FastifyReply> {
    const generation = context.completions.prepare(body, chat, callerOf(request, reply, performance.now()));
    if (!body.stream) {
      const completion = await generation.complete();
      reply.header("x-served-by", completion.served_by);
      return completion;
    }
    // Errors before the first byte are ordinary error responses; after it, an error event ends the stream.
    let opened = false;
    const write = (payload: unknown) => {
      if (!opened) {
        opened = true;
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": request.id, "x-model-version": generation.version });
      }
      if (!reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(payload)}\n\n`);
    };
    try {
      await generation.stream(write);
      if (!reply.raw.destroyed) reply.raw.end("data: [DONE]\n\n");
    } catch (error) {
      if (!opened) throw error;
      const serving = error instanceof ServingError ? error : new ServingError("ERR_INTERNAL", "generation failed");
      if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify({ error: { code: serving.code, message: serving.message } })}\n\n`);
    }
    return reply;
  }

  const errors = { "4xx": ErrorBody, "5xx": ErrorBody };
  app.post(
    "/v1/completions",
    { schema: { summary: "OpenAI-compatible text completion (GGUF models).", body: CompletionBody, response: { 200: CompletionResponse, ...errors } } },
    async (request, reply) => serve(request.body, false, request, reply),
  );
  app.post(
    "/v1/chat/completions",
    { schema: { summary: "OpenAI-compatible chat completion (GGUF models).", body: ChatCompletionBody, response: { 200: ChatCompletionResponse, ...errors } } },
    async (request, reply) => serve(request.body, true, request, reply),
  );
};
