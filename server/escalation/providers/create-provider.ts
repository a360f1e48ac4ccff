import type { ProviderSettings } from "../../config/escalation-schema.js";
import { ServingError } from "../../errors/registry.js";
import { createAnthropicProvider } from "./anthropic-provider.js";
import type { FrontierProvider } from "./frontier-provider.js";
import { createOpenAiBatchProvider, type BatchingProvider, type FrontierBatchSettings } from "./openai-batch-provider.js";
import { createOpenAiProvider } from "./openai-provider.js";

/** Providers by wire format: a new one is a file beside these and one line here. */
const PROVIDERS: Record<ProviderSettings["kind"], (name: string, settings: ProviderSettings, apiKey: string) => FrontierProvider> = {
  openai: createOpenAiProvider,
  anthropic: createAnthropicProvider,
};

/** Providers with a Batch API the escalations of batch jobs can go through (`batch.frontierBatch`). */
const BATCH_PROVIDERS: Partial<Record<ProviderSettings["kind"], (name: string, settings: ProviderSettings, apiKey: string, batch: FrontierBatchSettings) => BatchingProvider>> = {
  openai: createOpenAiBatchProvider,
};

function apiKeyOf(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv): string {
  const apiKey = env[settings.apiKeyEnv];
  if (!apiKey) {
    throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.apiKeyEnv: environment variable ${settings.apiKeyEnv} is not set`);
  }
  return apiKey;
}

export function createProvider(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv = process.env): FrontierProvider {
  return PROVIDERS[settings.kind](name, settings, apiKeyOf(name, settings, env));
}

/** The provider's Batch API, or undefined when its kind has none. */
export function createBatchProvider(name: string, settings: ProviderSettings, batch: FrontierBatchSettings, env: NodeJS.ProcessEnv = process.env): BatchingProvider | undefined {
  return BATCH_PROVIDERS[settings.kind]?.(name, settings, apiKeyOf(name, settings, env), batch);
}
