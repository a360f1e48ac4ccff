import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import type { EscalationSettings, ProviderSettings } from "../config/escalation-schema.js";
import type { Tenant } from "../auth/tenants.js";
import type { EscalationRecord, Ledger } from "../ledger/ledger.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ModelManifest } from "../models/manifest.js";
import { CircuitBreaker, type BreakerPermit } from "./circuit-breaker.js";
import { FrontierError, type FrontierFailure } from "./frontier-error.js";
import type { FrontierPrompt } from "./frontier-prompt.js";
import { costUsd, type PriceBook } from "./price-table.js";
import type { FrontierProvider, FrontierRequest } from "./providers/frontier-provider.js";
import { withRetries } from "./retry.js";
import type { Reservation, SpendStore } from "./spend-store.js";

/** Why an input below threshold still got the specialist's answer. */
export type DegradeReason =
  | "escalation_disabled"
  | "no_provider"
  | "rate_limited"
  | "over_budget"
  | "circuit_open"
  | "deadline"
  | "cancelled"
  | FrontierFailure;

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
  request: Omit<FrontierRequest, "maxOutputTokens">;
  /** Output tokens asked for; the provider's `maxOutputTokens` when unset or smaller. */
  maxOutputTokens?: number;
  /** Throws a FrontierError (`invalid_answer`) when the answer is unusable: that counts as a failed call. */
  parse(answer: unknown): T;
  deadline: number;
  signal: AbortSignal;
}

/** Ledger fields that depend on what was escalated; the service adds tenant, model, provider, cost and outcome. */
export type LedgerSubject = Pick<EscalationRecord, "inputHash" | "inputText" | "specialistLabel" | "specialistConfidence" | "reason" | "prompt"> & {
  frontierAnswer(value: unknown): string | null;
};

export interface EscalationRequest {
  tenant: Tenant;
  manifest: ModelManifest;
  prompt: FrontierPrompt;
  text: string;
  specialist: { label: string; confidence: number };
  /** performance.now() time by which the answer must be ready. */
  deadline: number;
  signal: AbortSignal;
}

interface ProviderEntry {
  provider: FrontierProvider;
  settings: ProviderSettings;
  breaker: CircuitBreaker;
}

export interface EscalationDeps {
  settings: EscalationSettings;
  providers: Map<string, { provider: FrontierProvider; settings: ProviderSettings }>;
  prices: PriceBook;
  store: SpendStore;
  ledger: Ledger;
  metrics: EscalationMetrics;
  storeInputs: boolean;
  log: (level: "warn" | "error", message: string) => void;
  random?: () => number;
  now?: () => Date;
}

/** Tokens a chat request adds around its messages (roles, separators); counted generously. */
const MESSAGE_OVERHEAD_TOKENS = 16;
const BREAKER_GAUGE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The cascade's second stage. In order: kill switch, provider, tenant rate limit, circuit breaker, budget
 * reservation of the worst case, the call with bounded retries inside the deadline, validation of the answer,
 * settlement from the provider's usage, a ledger row. Every failure becomes a `degraded` outcome, never a throw:
 * the caller always has the specialist's answer to give.
 */
export class EscalationService {
  private readonly entries = new Map<string, ProviderEntry>();
  private switchedOn: boolean;

  constructor(private readonly deps: EscalationDeps) {
    this.switchedOn = deps.settings.enabled;
    for (const [name, { provider, settings }] of deps.providers) {
      const breaker = new CircuitBreaker(settings.breaker, (state) => {
        deps.metrics.breakerState.set({ provider: name }, BREAKER_GAUGE[state]);
        deps.log("warn", `frontier provider ${name}: circuit ${state.replace("_", "-")}`);
      });
      deps.metrics.breakerState.set({ provider: name }, 0);
      this.entries.set(name, { provider, settings, breaker });
    }
  }

  get enabled(): boolean {
    return this.switchedOn;
  }

  /** The kill switch: takes effect for every escalation that has not yet started its call. */
  setEnabled(on: boolean): void {
    this.switchedOn = on;
  }

  providerFor(manifest: ModelManifest): ProviderEntry | undefined {
    const name = manifest.escalation.provider ?? this.deps.settings.defaultProvider;
    return name === undefined ? undefined : this.entries.get(name);
  }

  /** USD per input token of the model's provider, to estimate what the specialist saved; undefined without one. */
  inputPricePerToken(manifest: ModelManifest): number | undefined {
    const entry = this.providerFor(manifest);
    const price = entry && this.deps.prices.priceOf(entry.provider.model);
    return price ? price.inputUsdPerMTok / 1_000_000 : undefined;
  }

  status() {
    return {
      enabled: this.switchedOn,
      price_table: this.deps.prices.version,
      providers: [...this.entries.entries()].map(([name, e]) => ({ name, kind: e.provider.kind, model: e.provider.model, breaker: e.breaker.state })),
    };
  }

  /**
   * A classification for the frontier to label with the model's prompt: below threshold (`low_confidence`), or a
   * confident answer sampled by shadow mode (`shadow`), which is counted apart from escalations.
   */
  async escalate(request: EscalationRequest, reason: "low_confidence" | "shadow" = "low_confidence"): Promise<EscalationOutcome> {
    const { system, user } = request.prompt.render(request.text);
    const outcome = await this.ask(
      {
        tenant: request.tenant,
        manifest: request.manifest,
        request: { system, messages: [{ role: "user", content: user }], answerSchema: request.prompt.answerSchema, strict: true },
        parse: (answer) => request.prompt.parseAnswer(answer),
        deadline: request.deadline,
        signal: request.signal,
      },
      {
        inputHash: hashInput(request.text),
        inputText: this.deps.storeInputs ? request.text : null,
        specialistLabel: request.specialist.label,
        specialistConfidence: request.specialist.confidence,
        reason,
        prompt: request.prompt.id,
        frontierAnswer: (label) => label as string,
      },
    );
    const model = request.manifest.name;
    const agree = outcome.kind === "answered" ? String(outcome.value === request.specialist.label) : "none";
    if (reason === "shadow") this.deps.metrics.shadow.inc({ model, outcome: outcome.kind, agree });
    else if (outcome.kind === "answered") this.deps.metrics.agreement.inc({ model, agree });
    if (outcome.kind === "answered") {
      const { value, usage: _usage, ...rest } = outcome;
      return { ...rest, label: value };
    }
    return outcome;
  }

  /** Whether the ledger keeps request texts (and frontier answers that may quote them). */
  get storesInputs(): boolean {
    return this.deps.storeInputs;
  }

  /** One frontier call under every control, recorded in the ledger as `subject` describes it. Never throws. */
  async ask<T>(job: FrontierJob<T>, subject: LedgerSubject): Promise<CallOutcome<T>> {
    const started = performance.now();
    const entry = this.providerFor(job.manifest);
    let outcome: CallOutcome<T>;
    try {
      outcome = await this.run(job, entry, started);
    } catch (error) {
      // A bug here must not cost the caller the answer it already has.
      this.deps.log("error", `escalation failed unexpectedly: ${(error as Error).stack ?? String(error)}`);
      outcome = { kind: "degraded", reason: "server_error", message: "internal error during escalation", latencyMs: performance.now() - started, costUsd: 0 };
    }
    this.record(job, subject, entry, outcome);
    return outcome;
  }

  private async run<T>(job: FrontierJob<T>, entry: ProviderEntry | undefined, started: number): Promise<CallOutcome<T>> {
    const degraded = (reason: DegradeReason, message: string, cost = 0): Degraded => ({ kind: "degraded", reason, message, latencyMs: performance.now() - started, costUsd: cost });
    const { tenant } = job;
    const now = this.clock();
    if (!this.switchedOn) return degraded("escalation_disabled", "escalation is switched off");
    if (!entry) return degraded("no_provider", `no frontier provider configured for model '${job.manifest.name}'`);
    if (job.signal.aborted) return degraded("cancelled", "the client went away");
    if (!(await this.deps.store.takeEscalation(tenant.id, tenant.escalationsPerMinute, now))) {
      return degraded("rate_limited", `tenant '${tenant.id}' is over ${tenant.escalationsPerMinute} escalations per minute`);
    }
    const permit = entry.breaker.acquire();
    if (!permit) return degraded("circuit_open", `frontier provider '${entry.provider.name}' is failing; calls are paused`);

    const price = this.deps.prices.priceOf(entry.provider.model)!;
    const maxOutputTokens = Math.max(job.maxOutputTokens ?? 0, entry.settings.maxOutputTokens);
    const request: FrontierRequest = { ...job.request, maxOutputTokens };
    const counted =
      countTokens(request.system) +
      request.messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0) +
      countTokens(JSON.stringify(request.answerSchema)) +
      MESSAGE_OVERHEAD_TOKENS;
    const worstCase = costUsd(price, Math.ceil(counted * entry.settings.inputTokenMargin), maxOutputTokens);
    let paid = 0;
    let lastUsage: TokenUsage | undefined;

    // Each attempt reserves its own worst case, so retries can never spend past the budget either.
    const attempt = async (timeoutMs: number) => {
      const reservation = await this.deps.store.reserve(tenant.id, worstCase, tenant.dailyBudgetUsd, now);
      if (!reservation) throw new BudgetExhausted();
      const callStarted = performance.now();
      let settled = false;
      try {
        const reply = await entry.provider.call(request, { signal: job.signal, timeoutMs });
        const cost = reply.usage ? costUsd(price, reply.usage.inputTokens, reply.usage.outputTokens) : worstCase;
        await this.settle(reservation, cost, entry, tenant);
        settled = true;
        paid += cost;
        lastUsage = reply.usage;
        const value = job.parse(reply.answer);
        this.observeCall(entry, "ok", callStarted);
        return value;
      } catch (error) {
        const failure = error instanceof FrontierError ? error : new FrontierError("connection", String(error));
        if (!settled) {
          // An error response is not billed; an answer, a timeout or a broken-off call may have been: the worst case.
          const maybeBilled = failure.failure !== "rate_limited" && failure.failure !== "server_error" && failure.failure !== "client_error";
          if (maybeBilled) {
            await this.settle(reservation, worstCase, entry, tenant);
            paid += worstCase;
          } else {
            await this.deps.store.release(reservation);
          }
        }
        this.observeCall(entry, failure.failure, callStarted);
        throw failure;
      }
    };

    try {
      const value = await withRetries(attempt, {
        maxRetries: entry.settings.maxRetries,
        baseDelayMs: entry.settings.retryBaseDelayMs,
        timeoutMs: entry.settings.timeoutMs,
        deadline: job.deadline,
        signal: job.signal,
        random: this.deps.random ?? Math.random,
      });
      entry.breaker.succeeded(permit);
      return {
        kind: "answered",
        value,
        provider: entry.provider.name,
        model: entry.provider.model,
        latencyMs: performance.now() - started,
        costUsd: paid,
        ...(lastUsage ? { usage: lastUsage } : {}),
      };
    } catch (error) {
      if (error instanceof BudgetExhausted) {
        entry.breaker.abandoned(permit);
        return degraded("over_budget", `tenant '${tenant.id}' has not enough of its daily budget (${tenant.dailyBudgetUsd} USD) left for this call`, paid);
      }
      const failure = error instanceof FrontierError ? error : new FrontierError("connection", String(error));
      if (failure.failure === "aborted" || job.signal.aborted) {
        entry.breaker.abandoned(permit);
        return degraded("cancelled", "the client went away", paid);
      }
      entry.breaker.failed(permit);
      return degraded(failure.options.outOfTime ? "deadline" : failure.failure, failure.message, paid);
    }
  }

  private clock(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private observeCall(entry: ProviderEntry, result: string, started: number): void {
    this.deps.metrics.frontierCalls.inc({ provider: entry.provider.name, result });
    this.deps.metrics.frontierLatency.observe({ provider: entry.provider.name }, (performance.now() - started) / 1000);
  }

  private async settle(reservation: Reservation, cost: number, entry: ProviderEntry, tenant: Tenant): Promise<void> {
    await this.deps.store.settle(reservation, cost);
    this.deps.metrics.spend.inc({ tenant: tenant.id, provider: entry.provider.name }, cost);
    const spend = await this.deps.store.spend(tenant.id, this.clock());
    this.deps.metrics.budgetRemaining.set({ tenant: tenant.id }, Math.max(0, tenant.dailyBudgetUsd - spend.committedUsd - spend.reservedUsd));
  }

  private record<T>(job: FrontierJob<T>, subject: LedgerSubject, entry: ProviderEntry | undefined, outcome: CallOutcome<T>): void {
    const { manifest } = job;
    if (subject.reason !== "shadow") {
      this.deps.metrics.escalations.inc({ model: manifest.name, outcome: outcome.kind, reason: outcome.kind === "answered" ? subject.reason : outcome.reason });
    }
    const { frontierAnswer, ...fields } = subject;
    const usage = outcome.kind === "answered" ? outcome.usage : undefined;
    try {
      this.deps.ledger.recordEscalation({
        ...fields,
        time: this.clock().toISOString(),
        tenant: job.tenant.id,
        model: manifest.name,
        version: manifest.version,
        provider: entry?.provider.name ?? null,
        frontierModel: entry?.provider.model ?? null,
        frontierLabel: outcome.kind === "answered" ? frontierAnswer(outcome.value) : null,
        inputTokens: usage?.inputTokens ?? null,
        outputTokens: usage?.outputTokens ?? null,
        costUsd: outcome.costUsd,
        latencyMs: outcome.latencyMs,
        outcome: outcome.kind,
        failure: outcome.kind === "degraded" ? outcome.reason : null,
        priceVersion: this.deps.prices.version,
      });
    } catch (error) {
      this.deps.metrics.ledgerErrors.inc();
      this.deps.log("error", `ledger write failed (serving goes on): ${(error as Error).message}`);
    }
  }
}

class BudgetExhausted extends Error {}

export function hashInput(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}
