import Anthropic from "@anthropic-ai/sdk";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { FrontierError, fromSdkError } from "../frontier-error.js";
import type { FrontierProvider } from "./frontier-provider.js";

const TOOL = "record_answer";

/** Anthropic Messages with a forced tool call whose input schema is the answer's schema. */
export function createAnthropicProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new Anthropic({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0 });
  return {
    name,
    kind: "anthropic",
    model: settings.model,
    async call(request, { signal, timeoutMs }) {
      let message: Anthropic.Message;
      try {
        message = await client.messages.create(
          {
            model: settings.model,
            max_tokens: request.maxOutputTokens,
            system: request.system,
            messages: [{ role: "user", content: request.user }],
            tools: [{ name: TOOL, description: "Record the answer.", input_schema: { type: "object", ...request.answerSchema } }],
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
      return { answer: block.input, usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens } };
    },
  };
}
