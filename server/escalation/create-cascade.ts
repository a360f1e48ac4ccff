import type { ServerConfig } from "../config/schema.js";
import { TenantDirectory } from "../auth/tenants.js";
import { ServingError } from "../errors/registry.js";
import { Ledger } from "../ledger/ledger.js";
import { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import type { ModelBackend } from "../backends/backend.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { EscalationService } from "./escalation-service.js";
import type { EscalationLog } from "./escalation-types.js";
import { loadFrontierPrompt, type FrontierPrompt } from "./frontier-prompt.js";
import { priceBook } from "./price-table.js";
import { createProvider } from "./providers/create-provider.js";
import type { FrontierProvider } from "./providers/frontier-provider.js";
import { ShadowSampler } from "./shadow-sampler.js";
import { SqliteSpendBook } from "../state/sqlite-spend-book.js";
import type { SpendBook } from "../state/spend-book.js";
import { MemoryRateLimiter } from "../state/rate-limiter.js";
import type { ProviderSettings } from "../config/escalation-schema.js";

/** Everything after the specialist: tenants, the frontier cascade, its spend store and its ledger. */
export interface Cascade {
  tenants: TenantDirectory;
  escalation: EscalationService;
  ledger: Ledger;
  /** Frontier spend per tenant and day, written ahead of every call. */
  book: SpendBook;
  metrics: EscalationMetrics;
  shadow: ShadowSampler;
  promptFor(backend: ModelBackend): Promise<FrontierPrompt>;
  /** Cancels background shadow calls, waits for their records, closes the ledger. */
  close(): Promise<void>;
}

export async function createCascade(config: Readonly<ServerConfig>, registry: ModelRegistry, serving: ServingMetrics, log: EscalationLog, env: NodeJS.ProcessEnv = process.env): Promise<Cascade> {
  const prices = priceBook(config.escalation.prices);
  const providers = new Map<string, { provider: FrontierProvider; settings: ProviderSettings }>();
  for (const [name, settings] of Object.entries(config.escalation.providers)) {
    if (!prices.priceOf(settings.model)) {
      throw new ServingError("ERR_CONFIG_INVALID", `escalation.providers.${name}.model: no price for '${settings.model}' in the price table ${prices.version}; add it under escalation.prices so budgets can be enforced`);
    }
    providers.set(name, { provider: createProvider(name, settings, env), settings });
  }
  let ledger: Ledger;
  try {
    ledger = new Ledger(config.ledger.path, config.ledger.maxSizeMb === undefined ? {} : { maxBytes: config.ledger.maxSizeMb * 2 ** 20 });
  } catch (error) {
    throw new ServingError("ERR_CONFIG_INVALID", `ledger.path: cannot open ${config.ledger.path}: ${(error as Error).message}`);
  }
  const book = new SqliteSpendBook(ledger.database);
  const recovered = book.recoverPending();
  if (recovered.calls > 0) {
    log("warn", `${recovered.calls} frontier calls were in flight when the server last stopped: their outcome is unknown, so they stay counted at their reserved worst case (${recovered.usd.toFixed(6)} USD)`, { unknownOutcomeCalls: recovered.calls });
  }

  const metrics = new EscalationMetrics(serving.registry);
  const tenants = new TenantDirectory(config.auth);
  const escalation = new EscalationService({
    settings: config.escalation,
    providers,
    prices,
    book,
    limiter: new MemoryRateLimiter(),
    ledger,
    metrics,
    storeInputs: config.ledger.storeInputs,
    log,
  });

  const prompts = new Map<ModelBackend, Promise<FrontierPrompt>>();
  const promptFor = (backend: ModelBackend) => {
    let prompt = prompts.get(backend);
    if (!prompt) prompts.set(backend, (prompt = loadFrontierPrompt(backend.dir, backend.manifest.escalation.prompt, backend.manifest.labels)));
    return prompt;
  };
  // A prompt file that cannot be read is a broken model folder: say so at start-up, not at the first escalation.
  for (const state of registry.list()) if (state.status === "ready") await promptFor(state.backend);
  if (providers.size === 0) log("info", "no frontier provider configured: inputs below threshold are answered by the specialist, flagged degraded");
  const shadow = new ShadowSampler(escalation, config.escalation.shadowDeadlineMs);
  const close = async () => {
    await shadow.stop();
    ledger.close();
  };
  return { tenants, escalation, ledger, book, metrics, shadow, promptFor, close };
}
