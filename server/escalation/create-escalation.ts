import type { EscalationSettings, ProviderSettings } from "../config/escalation-schema.js";
import { ServingError } from "../errors/registry.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ServingState } from "../state/serving-state.js";
import { EscalationService } from "./escalation-service.js";
import type { EscalationLog } from "./escalation-types.js";
import { priceBook } from "./price-table.js";
import { createProvider } from "./providers/create-provider.js";
import type { FrontierProvider } from "./providers/frontier-provider.js";

/**
 * The escalation service over the configured providers. A provider whose model has no price stops start-up: its
 * budget could not be enforced.
 */
export function createEscalation(
  settings: EscalationSettings,
  state: ServingState,
  metrics: EscalationMetrics,
  options: { storeInputs: boolean; log: EscalationLog; env?: NodeJS.ProcessEnv },
): EscalationService {
  const prices = priceBook(settings.prices);
  const providers = new Map<string, { provider: FrontierProvider; settings: ProviderSettings }>();
  for (const [name, provider] of Object.entries(settings.providers)) {
    if (!prices.priceOf(provider.model)) {
      throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.model: no price for '${provider.model}' in the price table ${prices.version}; add it under escalation.prices so budgets can be enforced`);
    }
    providers.set(name, { provider: createProvider(name, provider, options.env), settings: provider });
  }
  if (providers.size === 0) options.log("info", "no frontier provider configured: inputs below threshold are answered by the specialist, flagged degraded");
  return new EscalationService({ settings, providers, prices, book: state.book, limiter: state.limiter, killSwitch: state.killSwitch, breakers: state.breakers, ledger: state.ledger, metrics, storeInputs: options.storeInputs, log: options.log });
}
