import { answerConfidence, answerLogScore } from "../backends/answer-confidence.js";
import type { ModelBackend } from "../backends/backend.js";
import type { GenerationRequest, GenerationResult, TokenLogprob } from "../backends/generation.js";
import { ServingError } from "../errors/registry.js";
import { decide } from "../escalation/confidence-policy.js";
import type { DegradedGeneration, FrontierGeneration, GenerationEscalation } from "../escalation/generation-escalation.js";
import { checkSchema, invalidOutput } from "../escalation/json-output.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { deadlineOf, type Caller, type DeadlineSettings } from "./caller.js";
import type { ChatCompletionBody, ChatCompletionResponse, CompletionBody, CompletionResponse } from "./completion-protocol.js";

export type CompletionRequest = typeof CompletionBody._output | typeof ChatCompletionBody._output;
/** A chat request gets a chat completion, a text request a text completion. */
export type Completion<Chat extends boolean> = Chat extends true ? typeof ChatCompletionResponse._output : typeof CompletionResponse._output;

export interface CompletionServingDeps {
  registry: ModelRegistry;
  /** Asks the frontier for the same request (JSON that failed its schema: or throws the 422; low confidence: or degrades). */
  escalate(input: GenerationEscalation): Promise<FrontierGeneration | DegradedGeneration>;
  deadlines: DeadlineSettings;
}

/** Alternatives per token the caller asked for (0: the chosen tokens only), or undefined for no logprobs. */
function askedLogprobs(body: CompletionRequest): number | undefined {
  if ("prompt" in body) return body.logprobs ?? undefined;
  if (body.top_logprobs != null && body.logprobs !== true) throw new ServingError("ERR_INVALID_REQUEST", "top_logprobs needs logprobs: true");
  return body.logprobs === true ? (body.top_logprobs ?? 0) : undefined;
}

/** The generations a request asks for: one per prompt (a chat is one), each to be made `n` times. */
function generationRequests(body: CompletionRequest, logprobs: number | undefined): GenerationRequest[] {
  const format = body.response_format;
  const base: GenerationRequest = {
    ...(logprobs !== undefined ? { logprobs } : {}),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 256,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.seed !== undefined ? { seed: body.seed } : {}),
    ...(body.stop !== undefined ? { stop: typeof body.stop === "string" ? [body.stop] : body.stop } : {}),
    ...(body.presence_penalty !== undefined ? { presencePenalty: body.presence_penalty } : {}),
    ...(body.frequency_penalty !== undefined ? { frequencyPenalty: body.frequency_penalty } : {}),
    ...(format?.type === "json_schema" ? { jsonSchema: format.json_schema.schema } : {}),
    ...(format?.type === "json_object" ? { jsonObject: true } : {}),
  };
  if (!("prompt" in body)) {
    const messages = body.messages.map(({ role, content }) => ({
      role: role === "developer" ? ("system" as const) : role,
      content: typeof content === "string" ? content : content.map((part) => part.text).join("\n"),
    }));
    return [{ ...base, messages }];
  }
  return (typeof body.prompt === "string" ? [body.prompt] : body.prompt).map((prompt) => ({ ...base, prompt }));
}

/** What the answer is checked against: the request's schema, or any object for `json_object`. */
const ANY_OBJECT = { type: "object" };
const schemaOf = (request: GenerationRequest) => request.jsonSchema ?? (request.jsonObject ? ANY_OBJECT : undefined);

const finish = (result: GenerationResult): "stop" | "length" => (result.finishReason === "length" ? "length" : "stop");

/** One choice as made: the specialist's generation, or the frontier's answer when the specialist's was not kept. */
interface Made {
  result: GenerationResult;
  frontier?: FrontierGeneration;
  /** Why the frontier was asked. */
  cause?: "output_invalid" | "low_confidence";
  /** A low-confidence answer the frontier did not replace. */
  degraded?: DegradedGeneration;
  /** The specialist's calibrated confidence in its answer (when the model scores answers). */
  confidence?: number;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** OpenAI's chat `logprobs`: each token with its alternatives. */
function chatLogprobs(tokens: readonly TokenLogprob[]) {
  return { content: tokens.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top })), refusal: null };
}

/** OpenAI's legacy completions `logprobs`: parallel lists, alternatives as token → logprob, offsets into the text. */
function textLogprobs(tokens: readonly TokenLogprob[], top: number) {
  let offset = 0;
  const offsets = tokens.map((t) => {
    const at = offset;
    offset += t.token.length;
    return at;
  });
  return {
    tokens: tokens.map((t) => t.token),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: top > 0 ? tokens.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))) : null,
    text_offset: offsets,
  };
}

/** One request's generations, resolved and checked: the model exists, generates, and the schema compiles. */
export class Generation<Chat extends boolean> {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  readonly model: string;
  readonly version: string;
  private readonly requests: GenerationRequest[];
  private readonly n: number;
  private readonly deadline: number;
  /** What the caller asked of logprobs (undefined: none shown). */
  private readonly logprobs: number | undefined;

  constructor(
    private readonly deps: CompletionServingDeps,
    private readonly backend: ModelBackend & Required<Pick<ModelBackend, "generate">>,
    private readonly body: CompletionRequest,
    private readonly chat: Chat,
    private readonly caller: Caller,
  ) {
    this.logprobs = askedLogprobs(body);
    if (body.stream && this.logprobs !== undefined) throw new ServingError("ERR_INVALID_REQUEST", "logprobs cannot be streamed: ask without stream, or without logprobs");
    // A model that scores its answers needs every answer's token log-probabilities (streams are not scored).
    const scores = backend.manifest.generation !== undefined && !body.stream;
    this.requests = generationRequests(body, this.logprobs ?? (scores ? 0 : undefined));
    this.n = body.n ?? 1;
    const schema = this.requests[0]!.jsonSchema;
    if (schema) checkSchema(schema);
    // A generation without a deadline may take as long as the server allows.
    this.deadline = deadlineOf(caller, body.deadline_ms, deps.deadlines, deps.deadlines.maxRequestDeadlineMs);
    this.id = `${chat ? "chatcmpl" : "cmpl"}-${caller.requestId}`;
    this.model = backend.manifest.name;
    this.version = backend.manifest.version;
  }

  /** Each generation `n` times, in OpenAI's choice order (prompt × n + choice). */
  private jobs(): GenerationRequest[] {
    return this.requests.flatMap((request) => Array.from({ length: this.n }, () => request));
  }

  /**
   * OpenAI counts a prompt once however many choices it has; completions add up. `cached_tokens`, as OpenAI and
   * llama-server report it: the prompt tokens the specialist read from its KV cache instead of evaluating.
   */
  private usage(made: Made[]) {
    let prompt = 0;
    let completion = 0;
    let cached: number | undefined;
    made.forEach(({ result, frontier }, index) => {
      const [input, output] = frontier?.usage ? [frontier.usage.inputTokens, frontier.usage.outputTokens] : [result.promptTokens, result.completionTokens];
      if (index % this.n === 0) {
        prompt += input;
        if (!frontier?.usage && result.cachedPromptTokens !== undefined) cached = (cached ?? 0) + result.cachedPromptTokens;
      }
      completion += output;
    });
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...(cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } }) };
  }

  /** The specialist's calibrated confidence in its answer, when the model scores answers. */
  private confidenceOf(request: GenerationRequest, result: GenerationResult): number | undefined {
    const settings = this.backend.manifest.generation;
    if (!settings || !result.logprobs) return undefined;
    const score = answerLogScore(result.text, result.logprobs, settings.score, schemaOf(request));
    return score === undefined ? undefined : round(answerConfidence(score, settings.temperature));
  }

  private async makeOne(request: GenerationRequest): Promise<Made> {
    const { signal, tenant, requestId } = this.caller;
    const result = await this.backend.generate(request, { deadline: this.deadline, signal, ...(this.caller.priority ? { priority: this.caller.priority } : {}) });
    const schema = schemaOf(request);
    const format = this.body.response_format;
    const common = { backend: this.backend, request, ...(schema ? { schema } : {}), strict: format?.type === "json_schema" && format.json_schema.strict === true, tenant, requestId, deadline: this.deadline, signal };
    const invalid = schema && invalidOutput(result.text, schema);
    if (invalid) {
      const frontier = (await this.deps.escalate({ ...common, cause: { reason: "output_invalid", invalid } })) as FrontierGeneration;
      return { result: { ...result, text: frontier.text, finishReason: "stop" }, frontier, cause: "output_invalid" };
    }
    const confidence = this.confidenceOf(request, result);
    const { manifest } = this.backend;
    const threshold = manifest.generation?.threshold;
    if (confidence === undefined || threshold === undefined || !decide(confidence, threshold, manifest.escalation, "cascade").escalate) return { result, ...(confidence !== undefined ? { confidence } : {}) };
    const outcome = await this.deps.escalate({ ...common, cause: { reason: "low_confidence", confidence } });
    if (outcome.kind === "degraded") return { result, confidence, cause: "low_confidence", degraded: outcome };
    return { result: { ...result, text: outcome.text, finishReason: "stop" }, frontier: outcome, confidence, cause: "low_confidence" };
  }

  /** Who answered, and the first escalation of the request's choices (answered, or degraded). */
  private provenance(made: Made[]) {
    const escalated = made.find((m) => m.frontier) ?? made.find((m) => m.degraded);
    if (!escalated) return { served_by: "specialist" as const, version: this.version };
    const { frontier, degraded } = escalated;
    const reason = escalated.cause ?? "low_confidence";
    return {
      served_by: frontier ? ("frontier" as const) : ("specialist" as const),
      version: this.version,
      escalation: frontier
        ? { reason, provider: frontier.provider, frontier_model: frontier.frontierModel, cost_usd: frontier.costUsd, latency_ms: frontier.latencyMs, degraded: false }
        : { reason, cost_usd: degraded!.costUsd, latency_ms: degraded!.latencyMs, degraded: true, degraded_reason: degraded!.reason },
    };
  }

  /** The logprobs a choice shows: asked for, and the specialist's own answer (a frontier answer has none). */
  private shownLogprobs(made: Made): TokenLogprob[] | undefined {
    return !made.frontier && this.logprobs !== undefined ? made.result.logprobs : undefined;
  }

  private chatLogprobsOf(made: Made) {
    const shown = this.shownLogprobs(made);
    return shown ? chatLogprobs(shown) : null;
  }

  private textLogprobsOf(made: Made) {
    const shown = this.shownLogprobs(made);
    return shown ? textLogprobs(shown, this.logprobs!) : null;
  }

  /** The specialist's confidence, on a choice that is its own answer. */
  private confidenceField(made: Made) {
    return !made.frontier && made.confidence !== undefined ? { confidence: made.confidence } : {};
  }

  /** The whole answer; JSON that fails its schema, or an answer under the model's confidence threshold, is asked of the frontier per the model's policy. */
  async complete(): Promise<Completion<Chat>> {
    const made = await Promise.all(this.jobs().map((request) => this.makeOne(request)));
    const common = { id: this.id, created: this.created, model: this.model, usage: this.usage(made), ...this.provenance(made) };
    const completion: Completion<true> | Completion<false> = this.chat
      ? {
          ...common,
          object: "chat.completion",
          choices: made.map((m, index) => ({ index, message: { role: "assistant" as const, content: m.result.text }, finish_reason: finish(m.result), logprobs: this.chatLogprobsOf(m), ...this.confidenceField(m) })),
        }
      : { ...common, object: "text_completion", choices: made.map((m, index) => ({ index, text: m.result.text, finish_reason: finish(m.result), logprobs: this.textLogprobsOf(m), ...this.confidenceField(m) })) };
    return completion as Completion<Chat>;
  }

  /**
   * The answers as OpenAI's chunks (each with its choice's index), each choice ending with one that carries its
   * finish reason; with `stream_options.include_usage`, a last chunk with the usage and no choices. What was
   * streamed cannot be taken back or replaced by a frontier answer: JSON that fails its schema ends the stream with
   * the 422's error, and stops the other choices.
   */
  async stream(onChunk: (chunk: unknown) => void): Promise<void> {
    const withUsage = this.body.stream_options?.include_usage === true;
    const head = { id: this.id, object: this.chat ? "chat.completion.chunk" : "text_completion", created: this.created, model: this.model };
    const choice = (index: number, delta: string | undefined, finishReason: string | null) =>
      this.chat
        ? { index, delta: delta === undefined ? {} : { role: "assistant", content: delta }, finish_reason: finishReason }
        : { index, text: delta ?? "", finish_reason: finishReason, logprobs: null };
    let failed = false;
    const emit = (choices: unknown[], usage?: unknown) => {
      if (!failed) onChunk({ ...head, choices, ...(withUsage ? { usage: usage ?? null } : {}) });
    };
    const stop = new AbortController();
    const signal = AbortSignal.any([this.caller.signal, stop.signal]);
    const settled = await Promise.allSettled(
      this.jobs().map(async (request, index) => {
        const result = await this.backend.generate(request, { deadline: this.deadline, signal, onText: (text) => emit([choice(index, text, null)]) });
        const schema = schemaOf(request);
        const invalid = schema && invalidOutput(result.text, schema);
        if (invalid) {
          failed = true; // nothing more is sent: the error event ends the stream
          stop.abort();
          throw invalid;
        }
        emit([choice(index, undefined, finish(result))]);
        return { result };
      }),
    );
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (rejected) {
      failed = true;
      throw rejected.reason;
    }
    if (withUsage) emit([], this.usage(settled.map((s) => (s as PromiseFulfilledResult<Made>).value)));
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
