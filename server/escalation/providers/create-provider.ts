import type { ProviderSettings } from "../../config/escalation-schema.js";
import { ServingError } from "../../errors/registry.js";
import { createAnthropicProvider } from "./anthropic-provider.js";
import type { FrontierProvider } from "./frontier-provider.js";
import { createOpenAiProvider } from "./openai-provider.js";

/** Providers by wire format: a new one is a file beside these and one line here. */
const PROVIDERS: Record<ProviderSettings["kind"], (name: string, settings: ProviderSettings, apiKey: string) => FrontierProvider> = {
  openai: createOpenAiProvider,
  anthropic: createAnthropicProvider,
};

export function createProvider(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv = process.env): FrontierProvider {
  const apiKey = env[settings.apiKeyEnv];
  if (!apiKey) {
    throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.apiKeyEnv: environment variable ${settings.apiKeyEnv} is not set`);
  }
  return PROVIDERS[settings.kind](name, settings, apiKey);
}
