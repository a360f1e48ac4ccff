import { TenantDirectory } from "../auth/tenants.js";
import { ResponseCache } from "../cache/response-cache.js";
import { SemanticCache } from "../cache/semantic-cache.js";
import type { ServerConfig } from "../config/schema.js";
import { ClassificationCascade } from "../escalation/classification-cascade.js";
import { createEscalation } from "../escalation/create-escalation.js";
import type { EscalationService } from "../escalation/escalation-service.js";
import type { EscalationLog } from "../escalation/escalation-types.js";
import { FrontierPromptCache } from "../escalation/frontier-prompt.js";
import { escalateGeneration } from "../escalation/generation-escalation.js";
import { ShadowSampler } from "../escalation/shadow-sampler.js";
import type { LedgerStore } from "../ledger/ledger-store.js";
import { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ServingMetrics } from "../metrics/serving-metrics.js";
import { ModelRegistry } from "../models/model-registry.js";
import { DriftWatch } from "../monitoring/drift-watch.js";
import type { BatchStore } from "../state/batch-store.js";
import { openState } from "../state/open-state.js";
import type { ServingState } from "../state/serving-state.js";
import type { SpendBook } from "../state/spend-book.js";
import type { ClassificationResult } from "./classify-protocol.js";
import { ClassifyServing } from "./classify-serving.js";
import { CompletionServing } from "./completion-serving.js";
import { EmbeddingServing } from "./embedding-serving.js";

/**
 * Everything that answers requests, without a front door: models, state, the escalation cascade and the serving
 * entry points. The HTTP server is one user of it; a batch job or a CLI can be another.
 */
export interface ServingCore {
  config: Readonly<ServerConfig>;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  tenants: TenantDirectory;
  ledger: LedgerStore;
  book: SpendBook;
  /** The Batch API's records, in the same store as the ledger. */
  batches: BatchStore;
  /** Which store holds what: embedded, or shared by a fleet. */
  stateKind: ServingState["kind"];
  escalation: EscalationService;
  shadow: ShadowSampler;
  cache: ResponseCache<ClassificationResult>;
  /** Live classification answers against each model's reference. */
  drift: DriftWatch;
  classify: ClassifyServing;
  completions: CompletionServing;
  embeddings: EmbeddingServing;
  /** Cancels background shadow calls and waits for their records, then closes the state. Models are the registry's: dispose of them first. */
  close(): Promise<void>;
}

/**
 * Opens the state, then loads the models as its recorded decisions say, then builds the core. A model's unreadable
 * frontier prompt stops start-up, not its first escalation.
 */
export async function createServingCore(config: Readonly<ServerConfig>, metrics: ServingMetrics, log: EscalationLog): Promise<ServingCore> {
  const state = await openState(config, log);
  let registry: ModelRegistry | undefined;
  try {
    registry = await ModelRegistry.load(config, metrics, log, state.decisions);
    if (state.recovered.calls > 0) {
      log("warn", `${state.recovered.calls} frontier calls were in flight when the server last stopped: their outcome is unknown, so they stay counted at their reserved worst case (${state.recovered.usd.toFixed(6)} USD)`, {
        unknownOutcomeCalls: state.recovered.calls,
      });
    }
    const escalationMetrics = new EscalationMetrics(metrics.registry);
    const escalation = await createEscalation(config.escalation, state, escalationMetrics, { storeInputs: config.ledger.storeInputs, log, batch: config.batch });
    const prompts = new FrontierPromptCache();
    for (const model of registry.list()) if (model.status === "ready") await prompts.get(model.backend);
    const shadow = new ShadowSampler(escalation, config.escalation.shadowDeadlineMs);
    // `cache.enabled: false` means no cache at all: a caller measuring raw escalation gets no reused answers either.
    const semantic = new SemanticCache({ ...config.cache.semantic, enabled: config.cache.enabled && config.cache.semantic.enabled }, metrics.registry, state.answers);
    await semantic.join();
    const cascade = new ClassificationCascade({ escalation, shadow, prompts, semantic, ledger: state.ledger, metrics: escalationMetrics, storeInputs: config.ledger.storeInputs });
    const cache = new ResponseCache<ClassificationResult>(config.cache, metrics.registry);
    const drift = new DriftWatch(config.metrics.drift, metrics.registry, () =>
      registry!
        .list()
        .flatMap((m) => (m.status === "ready" && m.backend.manifest.task === "text-classification" && !m.backend.manifest.multiLabel ? [{ dir: m.backend.dir, manifest: m.backend.manifest }] : [])),
    );
    const deadlines = { requestDeadlineMs: config.server.requestDeadlineMs, maxRequestDeadlineMs: config.server.maxRequestDeadlineMs };
    return {
      config,
      registry,
      metrics,
      tenants: new TenantDirectory(config.auth),
      ledger: state.ledger,
      book: state.book,
      batches: state.batches,
      stateKind: state.kind,
      escalation,
      shadow,
      cache,
      drift,
      classify: new ClassifyServing({ registry, cache, cascade, metrics, deadlines, drift }),
      embeddings: new EmbeddingServing({ registry, deadlines }),
      completions: new CompletionServing({
        registry,
        deadlines,
        escalate: (input) => escalateGeneration(escalation, config.escalation.outputDeadlineMs, input),
      }),
      close: async () => {
        await escalation.close();
        await shadow.stop();
        await state.close();
      },
    };
  } catch (error) {
    await registry?.dispose();
    await state.close();
    throw error;
  }
}
