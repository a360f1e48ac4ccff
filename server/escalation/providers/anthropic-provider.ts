import Anthropic from "@anthropic-ai/sdk";
import { z } from "zod";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { reportedUsage } from "../call-cost.js";
import { describeAnswer, FrontierError, fromSdkError } from "../frontier-error.js";
import { boundedFetch } from "./bounded-fetch.js";
import type { FrontierProvider } from "./frontier-provider.js";

const TOOL = "record_answer";
const WRAPPED = "value";

/** The part of a message the answer is read from. */
const Message = z.object({
  content: z.array(z.object({ type: z.string(), input: z.unknown().optional() })),
  stop_reason: z.string().nullish(),
});

/**
 * Anthropic Messages with a forced tool call whose input schema is the answer's schema. Tool inputs are always
 * objects, so an answer of another type (an array, a string) travels wrapped in `{ value: … }`.
 */
export function createAnthropicProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new Anthropic({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0, fetch: boundedFetch(settings.maxResponseBytes) });
  return {
    name,
    kind: "anthropic",
    model: settings.model,
    async call(request, { signal }) {
      const wrapped = request.answerSchema.type !== "object";
      const inputSchema = wrapped
        ? { type: "object" as const, properties: { [WRAPPED]: request.answerSchema }, required: [WRAPPED] }
        : { ...request.answerSchema, type: "object" as const };
      let message: unknown;
      try {
        message = await client.messages.create(
          {
            model: settings.model,
            max_tokens: request.maxOutputTokens,
            ...(request.system ? { system: request.system } : {}),
            messages: request.messages,
            tools: [{ name: TOOL, description: "Record the answer.", input_schema: inputSchema }],
            tool_choice: { type: "tool", name: TOOL },
          },
          { signal, maxRetries: 0 },
        );
      } catch (error) {
        throw fromSdkError(error, name, [apiKey]);
      }
      const usage = reportedUsage((message as { usage?: unknown } | null)?.usage, { input: "input_tokens", output: "output_tokens" });
      const shape = Message.safeParse(message);
      if (!shape.success) throw new FrontierError("invalid_answer", `${name}: the response is not a message (${describeAnswer(message)})`, { usage });
      const block = shape.data.content.find((b) => b.type === "tool_use");
      if (!block) {
        throw new FrontierError("invalid_answer", `${name}: no ${TOOL} tool call in the answer (stop reason ${shape.data.stop_reason})`, { usage, outputText: JSON.stringify(shape.data.content) });
      }
      const input = block.input as Record<string, unknown> | null | undefined;
      return { answer: wrapped ? input?.[WRAPPED] : input, usage, outputText: JSON.stringify(input ?? null) };
    },
  };
}
