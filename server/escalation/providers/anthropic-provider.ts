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
  content: z.array(z.object({ type: z.string(), input: z.unknown().optional(), text: z.string().optional() })),
  stop_reason: z.string().nullish(),
});

/**
 * Anthropic Messages with a forced tool call whose input schema is the answer's schema. Tool inputs are always
 * objects, so an answer of another type (an array, a string) travels wrapped in `{ value: … }`. A request without a
 * schema gets the message's text.
 */
export function createAnthropicProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new Anthropic({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0, fetch: boundedFetch(settings.maxResponseBytes) });
  return {
    name,
    kind: "anthropic",
    model: settings.model,
    async call(request, { signal }) {
      const schema = request.answerSchema;
      const wrapped = schema !== undefined && schema.type !== "object";
      const inputSchema = wrapped ? { type: "object" as const, properties: { [WRAPPED]: schema }, required: [WRAPPED] } : { ...schema, type: "object" as const };
      let message: unknown;
      try {
        message = await client.messages.create(
          {
            model: settings.model,
            max_tokens: request.maxOutputTokens,
            ...(request.system ? { system: request.system } : {}),
            messages: request.messages,
            ...(schema ? { tools: [{ name: TOOL, description: "Record the answer.", input_schema: inputSchema }], tool_choice: { type: "tool" as const, name: TOOL } } : {}),
          },
          { signal, maxRetries: 0 },
        );
      } catch (error) {
        throw fromSdkError(error, name, [apiKey]);
      }
      const usage = reportedUsage((message as { usage?: unknown } | null)?.usage, { input: "input_tokens", output: "output_tokens" });
      const shape = Message.safeParse(message);
      if (!shape.success) throw new FrontierError("invalid_answer", `${name}: the response is not a message (${describeAnswer(message)})`, { usage });
      if (!schema) {
        const text = shape.data.content.flatMap((b) => (b.type === "text" && b.text ? [b.text] : [])).join("");
        if (text === "") throw new FrontierError("invalid_answer", `${name}: the answer has no text (stop reason ${shape.data.stop_reason})`, { usage });
        return { answer: text, usage, outputText: text };
      }
      const block = shape.data.content.find((b) => b.type === "tool_use");
      if (!block) {
        throw new FrontierError("invalid_answer", `${name}: no ${TOOL} tool call in the answer (stop reason ${shape.data.stop_reason})`, { usage, outputText: JSON.stringify(shape.data.content) });
      }
      const input = block.input as Record<string, unknown> | null | undefined;
      return { answer: wrapped ? input?.[WRAPPED] : input, usage, outputText: JSON.stringify(input ?? null) };
    },
  };
}
