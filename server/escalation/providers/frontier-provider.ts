import type { ProviderSettings } from "../../config/escalation-schema.js";
import { ServingError } from "../../errors/registry.js";
import { createAnthropicProvider } from "./anthropic-provider.js";
import { createOpenAiProvider } from "./openai-provider.js";

export interface FrontierMessage {
  role: "user" | "assistant";
  content: string;
}

export interface FrontierRequest {
  /** Instructions; empty when the conversation has none. */
  system: string;
  messages: FrontierMessage[];
  /** JSON schema the answer must follow (OpenAI response_format / Anthropic forced tool input). */
  answerSchema: Record<string, unknown>;
  /** OpenAI strict structured outputs, which need every property required and no additional ones. */
  strict: boolean;
  maxOutputTokens: number;
}

export interface FrontierReply {
  /** The structured answer, parsed from JSON but not yet validated. */
  answer: unknown;
  /** From the provider; absent when an OpenAI-compatible server does not report it. */
  usage?: { inputTokens: number; outputTokens: number };
}

/** One call to one frontier model through its official SDK; retries, timeouts overall and the breaker are the caller's. */
export interface FrontierProvider {
  readonly name: string;
  readonly kind: ProviderSettings["kind"];
  readonly model: string;
  call(request: FrontierRequest, options: { signal: AbortSignal; timeoutMs: number }): Promise<FrontierReply>;
}

export function createProvider(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv = process.env): FrontierProvider {
  const apiKey = env[settings.apiKeyEnv];
  if (!apiKey) {
    throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.apiKeyEnv: environment variable ${settings.apiKeyEnv} is not set`);
  }
  return settings.kind === "openai" ? createOpenAiProvider(name, settings, apiKey) : createAnthropicProvider(name, settings, apiKey);
}
