import type { ProviderSettings } from "../../config/escalation-schema.js";
import { ServingError } from "../../errors/registry.js";
import type { FrontierProvider } from "./frontier-provider.js";
import type { BatchingProvider, FrontierBatchSettings } from "./openai-batch-provider.js";

type Factory = (name: string, settings: ProviderSettings, apiKey: string) => FrontierProvider;
type BatchFactory = (name: string, settings: ProviderSettings, apiKey: string, batch: FrontierBatchSettings) => BatchingProvider;

/**
 * Providers by wire format: a new one is a file beside these and one line here. Each SDK is imported when a
 * provider of its kind is configured, so a server that escalates nowhere never loads one (start-up time).
 */
const PROVIDERS: Record<ProviderSettings["kind"], () => Promise<Factory>> = {
  openai: async () => (await import("./openai-provider.js")).createOpenAiProvider,
  anthropic: async () => (await import("./anthropic-provider.js")).createAnthropicProvider,
};

/** Providers with a Batch API the escalations of batch jobs can go through (`batch.frontierBatch`). */
const BATCH_PROVIDERS: Partial<Record<ProviderSettings["kind"], () => Promise<BatchFactory>>> = {
  openai: async () => (await import("./openai-batch-provider.js")).createOpenAiBatchProvider,
};

function apiKeyOf(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv): string {
  const apiKey = env[settings.apiKeyEnv];
  if (!apiKey) {
    throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.apiKeyEnv: environment variable ${settings.apiKeyEnv} is not set`);
  }
  return apiKey;
}

export async function createProvider(name: string, settings: ProviderSettings, env: NodeJS.ProcessEnv = process.env): Promise<FrontierProvider> {
  const apiKey = apiKeyOf(name, settings, env);
  return (await PROVIDERS[settings.kind]())(name, settings, apiKey);
}

/** The provider's Batch API, or undefined when its kind has none. */
export async function createBatchProvider(name: string, settings: ProviderSettings, batch: FrontierBatchSettings, env: NodeJS.ProcessEnv = process.env): Promise<BatchingProvider | undefined> {
  const factory = BATCH_PROVIDERS[settings.kind];
  if (!factory) return undefined;
  const apiKey = apiKeyOf(name, settings, env);
  return (await factory())(name, settings, apiKey, batch);
}
