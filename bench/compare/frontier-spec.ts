import type { z } from "zod";
import type { ProviderSettings } from "../../server/config/escalation-schema.js";
import { DEFAULT_SIM_LATENCY, type LatencyModel } from "../sim/latency-model.js";

/** The frontier a comparison runs against: a simulation on loopback, or a real API. */
export type FrontierSpec =
  | { kind: "sim"; model: string; latency: LatencyModel; errorRate: number; seed: number }
  | { kind: "openai" | "anthropic"; model: string; baseURL?: string; apiKeyEnv: string };

export interface FrontierFlags {
  frontierModel?: string;
  apiKeyEnv?: string;
  simModel: string;
  simLatency?: LatencyModel;
  simErrorRate: number;
  seed: number;
}

/**
 * `sim`, `openai:<model>`, `anthropic:<model>`, or the base URL of any OpenAI-compatible server (with
 * `--frontier-model`). Keys come from OPENAI_API_KEY, ANTHROPIC_API_KEY or FRONTIER_API_KEY unless named otherwise.
 */
export function parseFrontier(spec: string, flags: FrontierFlags): FrontierSpec {
  if (spec === "sim") {
    return { kind: "sim", model: flags.simModel, latency: flags.simLatency ?? DEFAULT_SIM_LATENCY, errorRate: flags.simErrorRate, seed: flags.seed };
  }
  const vendor = /^(openai|anthropic):(.+)$/.exec(spec);
  if (vendor) {
    const kind = vendor[1] as "openai" | "anthropic";
    return { kind, model: vendor[2]!, apiKeyEnv: flags.apiKeyEnv ?? (kind === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY") };
  }
  if (/^https?:\/\//.test(spec)) {
    if (!flags.frontierModel) throw new Error("--frontier <baseURL> needs --frontier-model <name>");
    return { kind: "openai", model: flags.frontierModel, baseURL: spec, apiKeyEnv: flags.apiKeyEnv ?? "FRONTIER_API_KEY" };
  }
  throw new Error(`--frontier must be sim, openai:<model>, anthropic:<model> or an http(s) base URL (got '${spec}')`);
}

/** The provider block of the server's configuration for this frontier, and the environment it reads. */
export function providerFor(spec: FrontierSpec, simUrl: string | undefined, timeoutMs: number): { settings: z.input<typeof ProviderSettings>; env: Record<string, string> } {
  const common = { model: spec.model, timeoutMs, maxRetries: 1 };
  if (spec.kind === "sim") {
    return { settings: { kind: "openai", ...common, baseURL: `${simUrl}/v1`, apiKeyEnv: "SIM_FRONTIER_KEY" }, env: { SIM_FRONTIER_KEY: "simulated" } };
  }
  const key = process.env[spec.apiKeyEnv];
  if (!key) throw new Error(`the ${spec.kind} frontier needs its API key in ${spec.apiKeyEnv}`);
  return {
    settings: { kind: spec.kind, ...common, apiKeyEnv: spec.apiKeyEnv, ...(spec.baseURL ? { baseURL: spec.baseURL } : {}) },
    env: { [spec.apiKeyEnv]: key },
  };
}
