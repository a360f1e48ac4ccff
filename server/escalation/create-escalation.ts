import type { EscalationSettings, ProviderSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ServingState } from "../state/serving-state.js";
import type { BatchSettings } from "../config/batch-schema.js";
import { EscalationService, type BatchedProvider } from "./escalation-service.js";
import type { EscalationLog } from "./escalation-types.js";
import { priceBook } from "./price-table.js";
import { createBatchProvider, createProvider } from "./providers/create-provider.js";
import { loadTokenCounter } from "./token-count.js";
import type { FrontierProvider } from "./providers/frontier-provider.js";

/**
 * The escalation service over the configured providers. A provider whose model has no price stops start-up: its
 * budget could not be enforced.
 */
export async function createEscalation(
  settings: EscalationSettings,
  state: ServingState,
  metrics: EscalationMetrics,
  options: { storeInputs: boolean; log: EscalationLog; env?: NodeJS.ProcessEnv; batch?: BatchSettings },
): Promise<EscalationService> {
  const prices = priceBook(settings.prices);
  if (Object.keys(settings.providers).length > 0) await loadTokenCounter();
  const providers = new Map<string, { provider: FrontierProvider; settings: ProviderSettings }>();
  for (const [name, provider] of Object.entries(settings.providers)) {
    if (!prices.priceOf(provider.model)) {
      throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.model: no price for '${provider.model}' in the price table ${prices.version}; add it under escalation.prices so budgets can be enforced`);
    }
    providers.set(name, { provider: await createProvider(name, provider, options.env), settings: provider });
  }
  const batchProviders = new Map<string, BatchedProvider>();
  const batch = options.batch;
  if (batch?.enabled && batch.frontierBatch) {
    for (const [name, provider] of Object.entries(settings.providers)) {
      const batched = await createBatchProvider(name, provider, { flushMs: batch.frontierBatchFlushMs, maxRequests: batch.frontierBatchMaxRequests, pollMs: batch.frontierBatchPollMs }, options.env);
      if (batched) batchProviders.set(name, { provider: batched, priceFactor: batch.frontierBatchPriceFactor });
      else options.log("warn", `batch.frontierBatch: provider '${name}' (${provider.kind}) has no Batch API here; the escalations of batch jobs call it one by one`);
    }
  }
  if (providers.size === 0) options.log("info", "no frontier provider configured: inputs below threshold are answered by the specialist, flagged degraded");
  return new EscalationService({ settings, providers, batchProviders, prices, book: state.book, limiter: state.limiter, killSwitch: state.killSwitch, breakers: state.breakers, ledger: state.ledger, metrics, storeInputs: options.storeInputs, log: options.log });
}
