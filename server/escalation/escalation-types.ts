import type { Tenant } from "../auth/tenants.js";
import type { EscalationRecord } from "../ledger/ledger-store.js";
import type { ModelManifest } from "../models/manifest.js";
import type { FrontierFailure } from "./frontier-error.js";
import type { FrontierPrompt } from "./frontier-prompt.js";
import type { FrontierRequest } from "./providers/frontier-provider.js";

/** Why an input below threshold still got the specialist's answer. */
export type DegradeReason =
  | "escalation_disabled"
  | "no_provider"
  | "rate_limited"
  | "over_budget"
  | "circuit_open"
  | "deadline"
  | "cancelled"
  | "ledger_unavailable"
  | "state_unavailable"
  | Exclude<FrontierFailure, "aborted">;

export type Degraded = { kind: "degraded"; reason: DegradeReason; message: string; latencyMs: number; costUsd: number };
export type EscalationOutcome = { kind: "answered"; label: string; provider: string; model: string; latencyMs: number; costUsd: number } | Degraded;

/** What one frontier call produced: the parsed answer, or why the caller keeps what it had. */
export type CallOutcome<T> =
  | { kind: "answered"; value: T; provider: string; model: string; latencyMs: number; costUsd: number; usage?: TokenUsage }
  | Degraded;

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** One question for the frontier on behalf of a tenant and a model, with how to read its answer. */
export interface FrontierJob<T> {
  tenant: Tenant;
  manifest: ModelManifest;
  /** The HTTP request on whose behalf the call is made: in log lines and ledger rows. */
  requestId: string;
  request: Omit<FrontierRequest, "maxOutputTokens">;
  /** Output tokens asked for; the provider's `maxOutputTokens` when unset or smaller. */
  maxOutputTokens?: number;
  /** Throws a FrontierError (`invalid_answer`) when the answer is unusable: that counts as a failed call. */
  parse(answer: unknown): T;
  /** performance.now() time by which the caller needs the answer. */
  deadline: number;
  /** The escalation's own time budget (every try, back-off and body), ending no later than `deadline`. */
  budgetMs: number;
  signal: AbortSignal;
  /** Through the provider's Batch API when the model's provider has one (a batch job's escalation): cheaper, hours. */
  viaBatch?: boolean;
}

/** Ledger fields that depend on what was escalated; the service adds tenant, model, provider, cost and outcome. */
export type LedgerSubject = Pick<EscalationRecord, "inputHash" | "inputText" | "specialistLabel" | "specialistConfidence" | "reason" | "prompt"> & {
  frontierAnswer(value: unknown): string | null;
};

export interface EscalationRequest {
  tenant: Tenant;
  manifest: ModelManifest;
  prompt: FrontierPrompt;
  requestId: string;
  text: string;
  specialist: { label: string; confidence: number };
  /** performance.now() time by which the answer must be ready. */
  deadline: number;
  signal: AbortSignal;
  /** May wait for the provider's Batch API (see FrontierJob). */
  viaBatch?: boolean;
}

export type EscalationLog = (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

/** What an escalation's calls added up to, for its ledger row. */
export interface CallTally {
  calls: number;
  usage?: TokenUsage;
  usageSource: string | null;
  /** Settlements being written; the escalation answers once they are. */
  settling: Array<Promise<void>>;
}

/** A provider batch may take its whole 24 h window; a call through one waits that long and a little more. */
export const PROVIDER_BATCH_WAIT_MS = 25 * 3_600_000;

/** Time kept back from a request's deadline for writing the response after the frontier answered. */
export const RESPONSE_MARGIN_MS = 10;
