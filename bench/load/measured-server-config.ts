import type { ModelOverride, ServerConfigInput } from "../../server/config/schema.js";

/**
 * The configuration of a server whose speed a benchmark measures: one model, the response and semantic caches off
 * (a benchmark that cycles through its inputs would otherwise measure the cache from the second pass on), an
 * in-memory ledger and nothing escalated.
 */
export function measuredServerConfig(repository: string, model: string, override: Record<string, unknown> & Partial<ModelOverride> = {}): ServerConfigInput {
  return {
    models: { repository, serve: [model], overrides: { [model]: { escalation: { onLowConfidence: "none" }, ...override } } },
    cache: { enabled: false, semantic: { enabled: false } },
    ledger: { path: ":memory:" },
  };
}
