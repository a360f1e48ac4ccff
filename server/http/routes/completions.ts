import { performance } from "node:perf_hooks";
import { Ajv } from "ajv";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { GenerationRequest, GenerationResult } from "../../backends/generation.js";
import { ServingError } from "../../errors/registry.js";
import { disconnectSignal } from "../disconnect-signal.js";
import { ChatCompletionBody, ChatCompletionResponse, CompletionBody, CompletionResponse } from "../openai-schemas.js";
import { ErrorBody } from "../schemas.js";
import type { ServerContext } from "../server-context.js";

type Body = typeof CompletionBody._output | typeof ChatCompletionBody._output;
const ajv = new Ajv({ allErrors: true, strict: false });

function generationRequest(body: Body): GenerationRequest {
  const format = body.response_format;
  return {
    ...("prompt" in body ? { prompt: body.prompt } : { messages: body.messages }),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 256,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.seed !== undefined ? { seed: body.seed } : {}),
    ...(body.stop !== undefined ? { stop: typeof body.stop === "string" ? [body.stop] : body.stop } : {}),
    ...(format?.type === "json_schema" ? { jsonSchema: format.json_schema.schema } : {}),
  };
}

/** Grammars cannot express numeric bounds or patterns: the finished output is checked against the whole schema. */
function checkJsonOutput(text: string, schema: Record<string, unknown>): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServingError("ERR_OUTPUT_INVALID", "the model's output is not complete JSON (max_tokens may have cut it)", { details: { output: text.slice(0, 500) } });
  }
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    throw new ServingError("ERR_OUTPUT_INVALID", "the model's output does not satisfy the JSON schema", { details: { errors: validate.errors, output: text.slice(0, 500) } });
  }
}

const finish = (result: GenerationResult): "stop" | "length" => (result.finishReason === "length" ? "length" : "stop");
const usageOf = (result: GenerationResult) => ({
  prompt_tokens: result.promptTokens,
  completion_tokens: result.completionTokens,
  total_tokens: result.promptTokens + result.completionTokens,
});

interface Finished {
  result: GenerationResult;
  id: string;
  created: number;
  model: string;
}

/**
 * OpenAI-compatible text generation for GGUF models: POST /v1/completions and /v1/chat/completions, with
 * `stream: true` as server-sent events in OpenAI's chunk format ending with `data: [DONE]`. A client that goes
 * away stops the generation.
 */
export const completionRoutes: FastifyPluginAsyncZod<{ context: ServerContext }> = async (app, { context }) => {
  const { registry, config } = context;

  /** The finished generation, or undefined when it was streamed (the reply is then already sent). */
  async function serve(body: Body, reply: FastifyReply, chat: boolean, setModel: (name: string) => void): Promise<Finished | undefined> {
    const started = performance.now();
    const backend = registry.get(body.model);
    setModel(backend.manifest.name);
    if (!backend.generate) {
      throw new ServingError("ERR_MODEL_CANNOT_GENERATE", `model '${body.model}' is a ${backend.manifest.format} classifier: use POST /v1/classify, or a GGUF model to generate`);
    }
    const request = generationRequest(body);
    const deadline = started + Math.min(body.deadline_ms ?? config.server.maxRequestDeadlineMs, config.server.maxRequestDeadlineMs);
    const signal = disconnectSignal(reply);
    const id = `${chat ? "chatcmpl" : "cmpl"}-${reply.request.id}`;
    const created = Math.floor(Date.now() / 1000);
    const model = backend.manifest.name;

    if (!body.stream) {
      const result = await backend.generate(request, { deadline, signal });
      if (request.jsonSchema) checkJsonOutput(result.text, request.jsonSchema);
      return { result, id, created, model };
    }

    // Streaming: errors before the first byte are ordinary error responses; after it, an error event ends the stream.
    let opened = false;
    const open = () => {
      if (opened) return;
      opened = true;
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": reply.request.id });
    };
    const send = (payload: unknown) => {
      open();
      if (!reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(payload)}\n\n`);
    };
    const chunk = (delta: string | undefined, finishReason: string | null) =>
      chat
        ? { id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: delta === undefined ? {} : { role: "assistant", content: delta }, finish_reason: finishReason }] }
        : { id, object: "text_completion", created, model, choices: [{ index: 0, text: delta ?? "", finish_reason: finishReason, logprobs: null }] };
    try {
      const result = await backend.generate(request, { deadline, signal, onText: (text) => send(chunk(text, null)) });
      send(chunk(undefined, finish(result)));
      if (!reply.raw.destroyed) reply.raw.end("data: [DONE]\n\n");
    } catch (error) {
      if (!opened) throw error;
      const serving = error instanceof ServingError ? error : new ServingError("ERR_INTERNAL", "generation failed");
      if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify({ error: { code: serving.code, message: serving.message } })}\n\n`);
    }
    return undefined;
  }

  app.post(
    "/v1/completions",
    { schema: { summary: "OpenAI-compatible text completion (GGUF models).", body: CompletionBody, response: { 200: CompletionResponse, "4xx": ErrorBody, "5xx": ErrorBody } } },
    async (request, reply) => {
      const done = await serve(request.body, reply, false, (name) => (request.metricsModel = name));
      if (!done) return reply;
      const { result, id, created, model } = done;
      return { id, object: "text_completion" as const, created, model, choices: [{ index: 0, text: result.text, finish_reason: finish(result), logprobs: null }], usage: usageOf(result) };
    },
  );
  app.post(
    "/v1/chat/completions",
    { schema: { summary: "OpenAI-compatible chat completion (GGUF models).", body: ChatCompletionBody, response: { 200: ChatCompletionResponse, "4xx": ErrorBody, "5xx": ErrorBody } } },
    async (request, reply) => {
      const done = await serve(request.body, reply, true, (name) => (request.metricsModel = name));
      if (!done) return reply;
      const { result, id, created, model } = done;
      const message = { role: "assistant" as const, content: result.text };
      return { id, object: "chat.completion" as const, created, model, choices: [{ index: 0, message, finish_reason: finish(result) }], usage: usageOf(result) };
    },
  );
};
