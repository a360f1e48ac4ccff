import type { z } from "zod";
import type { ProviderSettings } from "../../server/config/escalation-schema.js";
import { DEFAULT_SIM_LATENCY, type LatencyModel } from "../sim/latency-model.js";

/**
 * The frontier a comparison runs against: a simulation on loopback (`gold`: the gold label with a flat error rate,
 * an upper bound; `difficulty`: wrong more often on inputs an independent model finds hard), a real second model
 * standing in for the frontier's answers (`stand-in`, latency simulated), or a real API.
 */
export type FrontierSpec =
  | { kind: "sim"; errors: "gold" | "difficulty"; model: string; latency: LatencyModel; errorRate: number; seed: number; gamma?: number; reasoningTokens?: number }
  | { kind: "stand-in"; standIn: string; model: string; latency: LatencyModel; seed: number; reasoningTokens?: number }
  | { kind: "openai" | "anthropic"; model: string; baseURL?: string; apiKeyEnv: string };

/** A short name for a frontier arm, used in arm names and the report. */
export function frontierLabel(spec: FrontierSpec): string {
  if (spec.kind === "sim") return `sim-${spec.errors}`;
  if (spec.kind === "stand-in") return `stand-in:${spec.standIn}`;
  return `${spec.kind}:${spec.model}`;
}

/** Whether the frontier's answers or latency are simulated (so its figures are labelled as such). */
export const isSimulated = (spec: FrontierSpec) => spec.kind === "sim" || spec.kind === "stand-in";

export interface FrontierFlags {
  frontierModel?: string;
  apiKeyEnv?: string;
  simModel: string;
  simLatency?: LatencyModel;
  simErrorRate: number;
  /** Hidden reasoning tokens the simulated frontier bills per call (a reasoning model); 0: none. */
  simReasoningTokens?: number;
  /** The repository model that stands in (and whose confidence sets the difficulty of an input). */
  standIn: string;
  seed: number;
}

/**
 * `sim` (the three stand-ins: errors by difficulty, a real second model, and the gold table as an upper bound),
 * `sim-gold`, `sim-difficulty`, `stand-in`, `openai:<model>`, `anthropic:<model>`, or the base URL of any
 * OpenAI-compatible server (with `--frontier-model`). Keys come from OPENAI_API_KEY, ANTHROPIC_API_KEY or
 * FRONTIER_API_KEY unless named otherwise.
 */
export function parseFrontiers(spec: string, flags: FrontierFlags): FrontierSpec[] {
  const latency = flags.simLatency ?? DEFAULT_SIM_LATENCY;
  const reasoning = flags.simReasoningTokens ? { reasoningTokens: flags.simReasoningTokens } : {};
  const sim = (errors: "gold" | "difficulty"): FrontierSpec => ({ kind: "sim", errors, model: flags.simModel, latency, errorRate: flags.simErrorRate, seed: flags.seed, ...reasoning });
  const standIn: FrontierSpec = { kind: "stand-in", standIn: flags.standIn, model: flags.simModel, latency, seed: flags.seed, ...reasoning };
  if (spec === "sim") return [sim("difficulty"), standIn, sim("gold")];
  if (spec === "sim-gold") return [sim("gold")];
  if (spec === "sim-difficulty") return [sim("difficulty")];
  if (spec === "stand-in") return [standIn];
  const vendor = /^(openai|anthropic):(.+)$/.exec(spec);
  if (vendor) {
    const kind = vendor[1] as "openai" | "anthropic";
    return [{ kind, model: vendor[2]!, apiKeyEnv: flags.apiKeyEnv ?? (kind === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY") }];
  }
  if (/^https?:\/\//.test(spec)) {
    if (!flags.frontierModel) throw new Error("--frontier <baseURL> needs --frontier-model <name>");
    return [{ kind: "openai", model: flags.frontierModel, baseURL: spec, apiKeyEnv: flags.apiKeyEnv ?? "FRONTIER_API_KEY" }];
  }
  throw new Error(`--frontier must be sim, sim-gold, sim-difficulty, stand-in, openai:<model>, anthropic:<model> or an http(s) base URL (got '${spec}')`);
}

/** The provider block of the server's configuration for this frontier, and the environment it reads. */
export function providerFor(spec: FrontierSpec, simUrl: string | undefined, timeoutMs: number): { settings: z.input<typeof ProviderSettings>; env: Record<string, string> } {
  const common = { model: spec.model, timeoutMs, maxRetries: 1 };
  if (spec.kind === "sim" || spec.kind === "stand-in") {
    // A simulated reasoning model is called as one: with reasoning_effort, and room to think in its output limit.
    const reasoning = spec.reasoningTokens ? { reasoningEffort: "low" as const } : {};
    return { settings: { kind: "openai", ...common, ...reasoning, baseURL: `${simUrl}/v1`, apiKeyEnv: "SIM_FRONTIER_KEY" }, env: { SIM_FRONTIER_KEY: "simulated" } };
  }
  const key = process.env[spec.apiKeyEnv];
  if (!key) throw new Error(`the ${spec.kind} frontier needs its API key in ${spec.apiKeyEnv}`);
  return {
    settings: { kind: spec.kind, ...common, apiKeyEnv: spec.apiKeyEnv, ...(spec.baseURL ? { baseURL: spec.baseURL } : {}) },
    env: { [spec.apiKeyEnv]: key },
  };
}
