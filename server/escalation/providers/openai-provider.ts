import OpenAI from "openai";
import { z } from "zod";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { reportedUsage } from "../call-cost.js";
import { describeAnswer, FrontierError, fromSdkError } from "../frontier-error.js";
import { boundedFetch } from "./bounded-fetch.js";
import type { FrontierProvider, FrontierReply, FrontierRequest } from "./frontier-provider.js";

/** The part of a chat completion the answer is read from; anything else in the body is ignored. */
const Completion = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }), finish_reason: z.string().nullish() }))
    .min(1),
});

/** The Chat Completions body of a frontier request: a JSON-schema response format, or none for a text answer. */
export function chatCompletionBody(settings: ProviderSettings, request: FrontierRequest) {
  return {
    model: settings.model,
    messages: [...(request.system ? [{ role: "system" as const, content: request.system }] : []), ...request.messages],
    [settings.maxTokensField]: request.maxOutputTokens,
    ...(settings.reasoningEffort ? { reasoning_effort: settings.reasoningEffort } : {}),
    ...(request.answerSchema ? { response_format: { type: "json_schema" as const, json_schema: { name: "answer", strict: request.strict, schema: request.answerSchema } } } : {}),
  };
}

/** The answer in a chat completion body, or the FrontierError (with the usage it reported) saying why there is none. */
export function readCompletion(name: string, completion: unknown, request: FrontierRequest): FrontierReply {
  const usage = reportedUsage((completion as { usage?: unknown } | null)?.usage, { input: "prompt_tokens", output: "completion_tokens", total: "total_tokens" });
  const shape = Completion.safeParse(completion);
  if (!shape.success) throw new FrontierError("invalid_answer", `${name}: the response is not a chat completion (${describeAnswer(completion)})`, { usage });
  const choice = shape.data.choices[0]!;
  const content = choice.message.content ?? "";
  if (choice.message.refusal) {
    throw new FrontierError("invalid_answer", `${name}: the model refused to answer (${describeAnswer(choice.message.refusal)})`, { usage, outputText: choice.message.refusal });
  }
  if (content === "" && choice.finish_reason === "length") {
    // Reasoning models spend hidden tokens first: with a small limit they stop before writing the answer.
    const hint = `raise escalation.providers.${name}.maxOutputTokens (${request.maxOutputTokens})`;
    // No visible text to count: without usage it is charged at the worst case, which includes every output token.
    throw new FrontierError("invalid_answer", `${name}: no answer within the output token limit (finish_reason length); ${hint}`, { usage });
  }
  if (!request.answerSchema) {
    if (content === "") throw new FrontierError("invalid_answer", `${name}: the answer is empty (finish_reason ${choice.finish_reason ?? "none"})`, { usage });
    return { answer: content, usage, outputText: content };
  }
  try {
    return { answer: JSON.parse(content), usage, outputText: content };
  } catch {
    throw new FrontierError("invalid_answer", `${name}: the answer is not JSON (${describeAnswer(content)})`, { usage, outputText: content });
  }
}

/** OpenAI Chat Completions with a JSON-schema response format; works with any compatible `baseURL`. */
export function createOpenAiProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new OpenAI({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0, fetch: boundedFetch(settings.maxResponseBytes) });
  return {
    name,
    kind: "openai",
    model: settings.model,
    async call(request, { signal }) {
      let completion: unknown;
      try {
        completion = await client.chat.completions.create(chatCompletionBody(settings, request), { signal, maxRetries: 0 });
      } catch (error) {
        throw fromSdkError(error, name, [apiKey]);
      }
      return readCompletion(name, completion, request);
    },
  };
}
