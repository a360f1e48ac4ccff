import type { ModelBackend } from "../backends/backend.js";
import type { GenerationRequest, GenerationResult } from "../backends/generation.js";
import { ServingError } from "../errors/registry.js";
import { checkSchema, invalidOutput } from "../escalation/json-output.js";
import type { FrontierGeneration, InvalidOutput } from "../escalation/output-escalation.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { deadlineOf, type Caller, type DeadlineSettings } from "./caller.js";
import type { ChatCompletionBody, ChatCompletionResponse, CompletionBody, CompletionResponse } from "./completion-protocol.js";

export type CompletionRequest = typeof CompletionBody._output | typeof ChatCompletionBody._output;
/** A chat request gets a chat completion, a text request a text completion. */
export type Completion<Chat extends boolean> = Chat extends true ? typeof ChatCompletionResponse._output : typeof CompletionResponse._output;

export interface CompletionServingDeps {
  registry: ModelRegistry;
  /** Asks the frontier for the same request when the specialist's JSON failed its schema (or throws the 422). */
  escalateOutput(input: InvalidOutput): Promise<FrontierGeneration>;
  deadlines: DeadlineSettings;
}

function generationRequest(body: CompletionRequest): GenerationRequest {
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

/** One generation, resolved and checked: the model exists, generates, and the schema compiles. */
export class Generation<Chat extends boolean> {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  readonly model: string;
  readonly version: string;
  private readonly request: GenerationRequest;
  private readonly deadline: number;

  constructor(
    private readonly deps: CompletionServingDeps,
    private readonly backend: ModelBackend & Required<Pick<ModelBackend, "generate">>,
    private readonly body: CompletionRequest,
    private readonly chat: Chat,
    private readonly caller: Caller,
  ) {
    this.request = generationRequest(body);
    if (this.request.jsonSchema) checkSchema(this.request.jsonSchema);
    // A generation without a deadline may take as long as the server allows.
    this.deadline = deadlineOf(caller, body.deadline_ms, deps.deadlines, deps.deadlines.maxRequestDeadlineMs);
    this.id = `${chat ? "chatcmpl" : "cmpl"}-${caller.requestId}`;
    this.model = backend.manifest.name;
    this.version = backend.manifest.version;
  }

  /** The whole answer; JSON that fails its schema is asked of the frontier, per the model's policy. */
  async complete(): Promise<Completion<Chat>> {
    const { signal, tenant, requestId } = this.caller;
    const result = await this.backend.generate(this.request, { deadline: this.deadline, signal, ...(this.caller.priority ? { priority: this.caller.priority } : {}) });
    const invalid = this.request.jsonSchema && invalidOutput(result.text, this.request.jsonSchema);
    let frontier: FrontierGeneration | undefined;
    let final = result;
    if (invalid) {
      const body = this.body;
      const strict = body.response_format?.type === "json_schema" && body.response_format.json_schema.strict === true;
      const request = { ...this.request, jsonSchema: this.request.jsonSchema! };
      frontier = await this.deps.escalateOutput({ backend: this.backend, request, strict, tenant, requestId, deadline: this.deadline, signal, invalid });
      final = { ...result, text: frontier.text, finishReason: "stop" };
    }
    const [input, output] = frontier?.usage ? [frontier.usage.inputTokens, frontier.usage.outputTokens] : [final.promptTokens, final.completionTokens];
    const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
    const provenance = frontier
      ? {
          served_by: "frontier" as const,
          version: this.version,
          escalation: { reason: "output_invalid" as const, provider: frontier.provider, frontier_model: frontier.frontierModel, cost_usd: frontier.costUsd, latency_ms: frontier.latencyMs },
        }
      : { served_by: "specialist" as const, version: this.version };
    const common = { id: this.id, created: this.created, model: this.model, usage, ...provenance };
    const completion: Completion<true> | Completion<false> = this.chat
      ? { ...common, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: final.text }, finish_reason: finish(final) }] }
      : { ...common, object: "text_completion", choices: [{ index: 0, text: final.text, finish_reason: finish(final), logprobs: null }] };
    return completion as Completion<Chat>;
  }

  /**
   * The answer as OpenAI's chunks, ending with one that carries the finish reason. What was streamed cannot be
   * taken back or replaced by a frontier answer: JSON that fails its schema ends the stream with the 422's error.
   */
  async stream(onChunk: (chunk: unknown) => void): Promise<void> {
    const chunk = (delta: string | undefined, finishReason: string | null) =>
      this.chat
        ? { id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices: [{ index: 0, delta: delta === undefined ? {} : { role: "assistant", content: delta }, finish_reason: finishReason }] }
        : { id: this.id, object: "text_completion", created: this.created, model: this.model, choices: [{ index: 0, text: delta ?? "", finish_reason: finishReason, logprobs: null }] };
    const result = await this.backend.generate(this.request, { deadline: this.deadline, signal: this.caller.signal, onText: (text) => onChunk(chunk(text, null)) });
    const invalid = this.request.jsonSchema && invalidOutput(result.text, this.request.jsonSchema);
    if (invalid) throw invalid;
    onChunk(chunk(undefined, finish(result)));
  }
}

/** OpenAI-compatible generation (completions and chat completions) for models that generate. Knows nothing of HTTP. */
export class CompletionServing {
  constructor(private readonly deps: CompletionServingDeps) {}

  /** Resolves the model and checks the request; throws the caller's errors before anything is generated. */
  prepare<Chat extends boolean>(body: CompletionRequest, chat: Chat, caller: Caller): Generation<Chat> {
    const backend = this.deps.registry.get(body.model);
    caller.onModel?.(backend.manifest.name);
    if (!backend.generate) {
      throw new ServingError("ERR_MODEL_CANNOT_GENERATE", `model '${body.model}' is a ${backend.manifest.format} classifier: use POST /v1/classify, or a GGUF model to generate`);
    }
    return new Generation(this.deps, backend as ModelBackend & Required<Pick<ModelBackend, "generate">>, body, chat, caller);
  }
}
