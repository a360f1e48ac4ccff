import Anthropic from "@anthropic-ai/sdk";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { FrontierError, fromSdkError } from "../frontier-error.js";
import type { FrontierProvider } from "./frontier-provider.js";

const TOOL = "record_answer";
const WRAPPED = "value";

/**
 * Anthropic Messages with a forced tool call whose input schema is the answer's schema. Tool inputs are always
 * objects, so an answer of another type (an array, a string) travels wrapped in `{ value: … }`.
 */
export function createAnthropicProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new Anthropic({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0 });
  return {
    name,
    kind: "anthropic",
    model: settings.model,
    async call(request, { signal, timeoutMs }) {
      const wrapped = request.answerSchema.type !== "object";
      const inputSchema = wrapped
        ? { type: "object" as const, properties: { [WRAPPED]: request.answerSchema }, required: [WRAPPED] }
        : { ...request.answerSchema, type: "object" as const };
      let message: Anthropic.Message;
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
          { signal, timeout: timeoutMs, maxRetries: 0 },
        );
      } catch (error) {
        throw fromSdkError(error, name);
      }
      const block = message.content.find((b) => b.type === "tool_use");
      if (!block || block.type !== "tool_use") {
        throw new FrontierError("invalid_answer", `${name}: no ${TOOL} tool call in the answer (stop reason ${message.stop_reason})`);
      }
      const input = block.input as Record<string, unknown> | null;
      const answer = wrapped ? input?.[WRAPPED] : input;
      return { answer, usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens } };
    },
  };
}
