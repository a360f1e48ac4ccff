import OpenAI from "openai";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { FrontierError, fromSdkError } from "../frontier-error.js";
import type { FrontierProvider } from "./frontier-provider.js";

/** OpenAI Chat Completions with a JSON-schema response format; works with any compatible `baseURL`. */
export function createOpenAiProvider(name: string, settings: ProviderSettings, apiKey: string): FrontierProvider {
  const client = new OpenAI({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 0 });
  return {
    name,
    kind: "openai",
    model: settings.model,
    async call(request, { signal, timeoutMs }) {
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: settings.model,
            messages: [...(request.system ? [{ role: "system" as const, content: request.system }] : []), ...request.messages],
            [settings.maxTokensField]: request.maxOutputTokens,
            response_format: { type: "json_schema", json_schema: { name: "answer", strict: request.strict, schema: request.answerSchema } },
          },
          { signal, timeout: timeoutMs, maxRetries: 0 },
        );
      } catch (error) {
        throw fromSdkError(error, name);
      }
      const content = completion.choices[0]?.message?.content;
      let answer: unknown;
      try {
        answer = JSON.parse(content ?? "");
      } catch {
        throw new FrontierError("invalid_answer", `${name}: the answer is not JSON: ${JSON.stringify(content)?.slice(0, 200)}`);
      }
      const usage = completion.usage;
      return { answer, ...(usage ? { usage: { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens } } : {}) };
    },
  };
}
