import { performance } from "node:perf_hooks";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { GenerationRequest, GenerationResult } from "../../backends/generation.js";
import { ServingError } from "../../errors/registry.js";
import { disconnectSignal } from "../disconnect-signal.js";
import { ChatCompletionBody, ChatCompletionResponse, CompletionBody, CompletionResponse } from "../openai-schemas.js";
import { checkSchema, invalidOutput } from "../json-output.js";
import { escalateInvalidOutput, type FrontierGeneration } from "../output-escalation.js";
import { ErrorBody } from "../schemas.js";
import type { ServerContext } from "../server-context.js";

type Body = typeof CompletionBody._output | typeof ChatCompletionBody._output;

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

const finish = (result: GenerationResult): "stop" | "length" => (result.finishReason === "length" ? "length" : "stop");
const usageOf = ({ result, frontier }: Finished) => {
  const [input, output] = frontier?.usage ? [frontier.usage.inputTokens, frontier.usage.outputTokens] : [result.promptTokens, result.completionTokens];
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
};

interface Finished {
  result: GenerationResult;
  /** Set when the specialist's JSON failed its schema and the frontier answered instead. */
  frontier?: FrontierGeneration;
  id: string;
  created: number;
  model: string;
  /** The model version that generated it. */
  version: string;
}

/** Who answered, beside OpenAI's fields (clients ignore fields they do not know). */
function provenance(reply: FastifyReply, { frontier, version }: Finished) {
  reply.header("x-served-by", frontier ? "frontier" : "specialist");
  if (!frontier) return { served_by: "specialist" as const, version };
  const escalation = { reason: "output_invalid" as const, provider: frontier.provider, frontier_model: frontier.frontierModel, cost_usd: frontier.costUsd, latency_ms: frontier.latencyMs };
  return { served_by: "frontier" as const, version, escalation };
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
    if (request.jsonSchema) checkSchema(request.jsonSchema);
    const deadline = started + Math.min(body.deadline_ms ?? config.server.maxRequestDeadlineMs, config.server.maxRequestDeadlineMs);
    const signal = disconnectSignal(reply);
    const id = `${chat ? "chatcmpl" : "cmpl"}-${reply.request.id}`;
    const created = Math.floor(Date.now() / 1000);
    const model = backend.manifest.name;
    const version = backend.manifest.version;

    if (!body.stream) {
      const result = await backend.generate(request, { deadline, signal });
      const invalid = request.jsonSchema && invalidOutput(result.text, request.jsonSchema);
      if (!invalid) return { result, id, created, model, version };
      const strict = body.response_format?.type === "json_schema" && body.response_format.json_schema.strict === true;
      const escalationInput = { backend, request: { ...request, jsonSchema: request.jsonSchema! }, strict, tenant: reply.request.tenant!, requestId: reply.request.id, deadline, signal, invalid };
      const frontier = await escalateInvalidOutput(context, escalationInput);
      return { result: { ...result, text: frontier.text, finishReason: "stop" }, frontier, id, created, model, version };
    }

    // Streaming: errors before the first byte are ordinary error responses; after it, an error event ends the stream.
    let opened = false;
    const open = () => {
      if (opened) return;
      opened = true;
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": reply.request.id, "x-model-version": version });
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
      // What was streamed cannot be taken back or replaced by a frontier answer: an invalid output ends with an error event.
      const invalid = request.jsonSchema && invalidOutput(result.text, request.jsonSchema);
      if (invalid) throw invalid;
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
      const choices = [{ index: 0, text: result.text, finish_reason: finish(result), logprobs: null }];
      return { id, object: "text_completion" as const, created, model, choices, usage: usageOf(done), ...provenance(reply, done) };
    },
  );
  app.post(
    "/v1/chat/completions",
    { schema: { summary: "OpenAI-compatible chat completion (GGUF models).", body: ChatCompletionBody, response: { 200: ChatCompletionResponse, "4xx": ErrorBody, "5xx": ErrorBody } } },
    async (request, reply) => {
      const done = await serve(request.body, reply, true, (name) => (request.metricsModel = name));
      if (!done) return reply;
      const { result, id, created, model } = done;
      const choices = [{ index: 0, message: { role: "assistant" as const, content: result.text }, finish_reason: finish(result) }];
      return { id, object: "chat.completion" as const, created, model, choices, usage: usageOf(done), ...provenance(reply, done) };
    },
  );
};
