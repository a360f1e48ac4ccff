import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { countTokens } from "./token-count.js";
import type { EscalationSettings, ProviderSettings } from "../config/escalation-schema.js";
import type { Tenant } from "../auth/tenants.js";
import type { LedgerStore } from "../ledger/ledger-store.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { ModelManifest } from "../models/manifest.js";
import type { BreakerSync } from "../state/breaker-sync.js";
import type { KillSwitch } from "../state/kill-switch.js";
import type { RateLimiter } from "../state/rate-limiter.js";
import { StateUnavailable } from "../state/state-unavailable.js";
import type { CallSettlement, SpendBook } from "../state/spend-book.js";
import { CircuitBreaker, type BreakerPermit } from "./circuit-breaker.js";
import { BudgetExhausted, callOnce, reserveAttempt, SpendUnrecorded, type CallPlan } from "./frontier-call.js";
import { EscalationJournal } from "./escalation-journal.js";
import { PROVIDER_BATCH_WAIT_MS, type CallOutcome, type CallTally, type Degraded, type DegradeReason, type EscalationLog, type EscalationOutcome, type EscalationRequest, type FrontierJob, type LedgerSubject } from "./escalation-types.js";
import { FrontierError, type FrontierFailure } from "./frontier-error.js";
import { costUsd, type PriceBook } from "./price-table.js";
import type { FrontierProvider, FrontierRequest } from "./providers/frontier-provider.js";
import { withRetries } from "./retry.js";

interface ProviderEntry {
  provider: FrontierProvider;
  settings: ProviderSettings;
  breaker: CircuitBreaker;
  /** What its calls cost as a share of the model's list price (a Batch API's discount). */
  priceFactor: number;
  /** Answers come from the provider's batch jobs, within hours: not held to the per-minute rate limit. */
  batched: boolean;
}

export interface BatchedProvider {
  provider: FrontierProvider & { close(): Promise<void> };
  priceFactor: number;
}


export interface EscalationDeps {
  settings: EscalationSettings;
  providers: Map<string, { provider: FrontierProvider; settings: ProviderSettings }>;
  /** Per provider name, the same model through its Batch API, for the escalations of batch jobs that ask for it. */
  batchProviders?: Map<string, BatchedProvider>;
  prices: PriceBook;
  book: SpendBook;
  limiter: RateLimiter;
  /** Shared by a fleet's replicas on Redis: a flip on one reaches all. */
  killSwitch: KillSwitch;
  /** Spreads one replica's open circuit to the others. */
  breakers: BreakerSync;
  ledger: LedgerStore;
  metrics: EscalationMetrics;
  storeInputs: boolean;
  log: EscalationLog;
  random?: () => number;
  now?: () => Date;
}

/** Tokens a chat request adds around its messages (roles, separators); counted generously. */
const MESSAGE_OVERHEAD_TOKENS = 16;
const BREAKER_GAUGE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The cascade's second stage. In order: kill switch, provider, circuit breaker, tenant rate limit, then calls with
 * bounded retries inside the escalation's time budget, each written ahead in the spend book (budget check and
 * pending row in one step), validated, and settled from the provider's usage; a ledger row per escalation. Every
 * failure becomes a `degraded` outcome, never a throw: the caller always has the specialist's answer to give.
 */
export class EscalationService {
  private readonly entries = new Map<string, ProviderEntry>();
  private readonly batchEntries = new Map<string, ProviderEntry>();
  private readonly journal: EscalationJournal;
  /** Tenants whose budget the gauge reports: those that made a call since start. */
  private readonly spenders = new Map<string, Tenant>();

  constructor(private readonly deps: EscalationDeps) {
    deps.metrics.budgetSource = async (gauge) => {
      for (const tenant of this.spenders.values()) {
        try {
          const spend = await deps.book.spend(tenant.id, this.clock());
          gauge.set({ tenant: tenant.id }, Math.max(0, tenant.dailyBudgetUsd - spend.committedUsd - spend.reservedUsd));
        } catch {
          // The store is away: the gauge keeps its last value.
        }
      }
    };
    this.journal = new EscalationJournal({ ledger: deps.ledger, metrics: deps.metrics, log: deps.log, priceVersion: deps.prices.version, clock: () => this.clock() });
    const breakerFor = (name: string, settings: ProviderSettings, shared: boolean) => {
      deps.metrics.breakerState.set({ provider: name }, 0);
      return new CircuitBreaker(settings.breaker, (state) => {
        deps.metrics.breakerState.set({ provider: name }, BREAKER_GAUGE[state]);
        if (state === "open" && shared) deps.breakers.opened(name, Date.now() + settings.breaker.coolDownMs);
        deps.log("warn", `frontier provider ${name}: circuit ${state.replace("_", "-")}`, { provider: name });
      });
    };
    for (const [name, { provider, settings }] of deps.providers) {
      this.entries.set(name, { provider, settings, breaker: breakerFor(name, settings, true), priceFactor: 1, batched: false });
      const batched = deps.batchProviders?.get(name);
      if (!batched) continue;
      // One try, waiting as long as the provider's batch may take; the Batch API has a breaker of its own.
      const waiting = { ...settings, timeoutMs: PROVIDER_BATCH_WAIT_MS, maxRetries: 0 };
      this.batchEntries.set(name, { provider: batched.provider, settings: waiting, breaker: breakerFor(`${name}:batch`, settings, false), priceFactor: batched.priceFactor, batched: true });
    }
  }

  get enabled(): boolean {
    return this.deps.killSwitch.on;
  }

  /** The kill switch: takes effect for every escalation that has not yet started its call, on every replica sharing it. */
  async setEnabled(on: boolean): Promise<void> {
    await this.deps.killSwitch.set(on);
  }

  providerFor(manifest: ModelManifest, viaBatch = false): ProviderEntry | undefined {
    const name = manifest.escalation.provider ?? this.deps.settings.defaultProvider;
    if (name === undefined) return undefined;
    return (viaBatch ? this.batchEntries.get(name) : undefined) ?? this.entries.get(name);
  }

  /** Gives up on the provider batches still open (their callers get the specialist's answer). */
  async close(): Promise<void> {
    await Promise.all([...(this.deps.batchProviders?.values() ?? [])].map((b) => b.provider.close()));
  }

  /** USD per input token of the model's provider, to estimate what the specialist saved; undefined without one. */
  inputPricePerToken(manifest: ModelManifest): number | undefined {
    const entry = this.providerFor(manifest);
    const price = entry && this.deps.prices.priceOf(entry.provider.model);
    return price ? price.inputUsdPerMTok / 1_000_000 : undefined;
  }

  status() {
    return {
      enabled: this.enabled,
      price_table: this.deps.prices.version,
      providers: [...this.entries.entries()].map(([name, e]) => ({ name, kind: e.provider.kind, model: e.provider.model, breaker: this.deps.breakers.openUntil(name) > 0 ? "open" : e.breaker.state })),
    };
  }

  /**
   * A classification for the frontier to label with the model's prompt: below threshold (`low_confidence`), or a
   * confident answer sampled by shadow mode (`shadow`), which is counted apart from escalations.
   */
  async escalate(request: EscalationRequest, reason: "low_confidence" | "shadow" = "low_confidence", budgetMs = this.deps.settings.deadlineMs): Promise<EscalationOutcome> {
    const { system, user } = request.prompt.render(request.text);
    const viaBatch = request.viaBatch === true && this.providerFor(request.manifest, true)?.batched === true;
    const outcome = await this.ask(
      {
        tenant: request.tenant,
        manifest: request.manifest,
        requestId: request.requestId,
        request: { system, messages: [{ role: "user", content: user }], answerSchema: request.prompt.answerSchema, strict: true },
        parse: (answer) => request.prompt.parseAnswer(answer),
        deadline: request.deadline,
        budgetMs: viaBatch ? PROVIDER_BATCH_WAIT_MS : budgetMs,
        signal: request.signal,
        viaBatch,
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
    const entry = this.providerFor(job.manifest, job.viaBatch);
    const tally: CallTally = { calls: 0, usageSource: null, settling: [] };
    let outcome: CallOutcome<T>;
    try {
      outcome = await this.run(job, subject.reason, entry, started, tally);
    } catch (error) {
      // A bug here must not cost the caller the answer it already has.
      this.deps.log("error", `escalation failed unexpectedly: ${(error as Error).stack ?? String(error)}`, { reqId: job.requestId });
      outcome = { kind: "degraded", reason: "server_error", message: "internal error during escalation", latencyMs: performance.now() - started, costUsd: 0 };
    }
    if (outcome.kind === "degraded") this.journal.degraded(job, subject.reason, entry?.provider.name ?? null, outcome, tally);
    // The calls' settlements and the escalation's row are written side by side, both before the caller is answered.
    await Promise.all([this.journal.record(job, subject, entry?.provider, outcome, tally), ...tally.settling]);
    return outcome;
  }

  private async run<T>(job: FrontierJob<T>, reason: string, entry: ProviderEntry | undefined, started: number, tally: CallTally): Promise<CallOutcome<T>> {
    let paid = 0;
    const degraded = (why: DegradeReason, message: string): Degraded => ({ kind: "degraded", reason: why, message, latencyMs: performance.now() - started, costUsd: paid });
    const { tenant } = job;
    if (!this.enabled) return degraded("escalation_disabled", "escalation is switched off");
    if (!entry) return degraded("no_provider", `no frontier provider configured for model '${job.manifest.name}'`);
    if (job.signal.aborted) return degraded("cancelled", "the client went away");
    if (this.deps.breakers.openUntil(entry.provider.name) > 0) return degraded("circuit_open", `frontier provider '${entry.provider.name}' is failing (seen by another replica); calls are paused`);
    const permit = entry.breaker.acquire();
    if (!permit) return degraded("circuit_open", `frontier provider '${entry.provider.name}' is failing; calls are paused`);

    const listPrice = this.deps.prices.priceOf(entry.provider.model)!;
    const price = { inputUsdPerMTok: listPrice.inputUsdPerMTok * entry.priceFactor, outputUsdPerMTok: listPrice.outputUsdPerMTok * entry.priceFactor };
    const maxOutputTokens = Math.max(job.maxOutputTokens ?? 0, entry.settings.maxOutputTokens);
    const request: FrontierRequest = { ...job.request, maxOutputTokens };
    const inputTokens =
      countTokens(request.system) +
      request.messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0) +
      (request.answerSchema ? countTokens(JSON.stringify(request.answerSchema)) : 0) +
      MESSAGE_OVERHEAD_TOKENS;
    const budgetEnd = started + job.budgetMs;
    const plan: CallPlan<T> = {
      book: this.deps.book,
      provider: entry.provider,
      price,
      request,
      tenant,
      requestId: job.requestId,
      reason,
      worstCaseUsd: costUsd(price, Math.ceil(inputTokens * entry.settings.inputTokenMargin), maxOutputTokens),
      inputTokens,
      signal: job.signal,
      deadlineIsCallers: job.deadline < budgetEnd,
      parse: job.parse,
      onSettled: (settlement) => {
        tally.calls++;
        paid += settlement.costUsd;
        if (settlement.usageSource !== "none") tally.usageSource = settlement.usageSource;
      },
      onSettling: (write, settlement) => {
        tally.settling.push(write.then(({ written, error }) => this.afterSettle(entry, tenant, settlement, written, error)));
      },
    };

    // The rate limit and the first attempt's reservation are asked at once: on a shared store, one round trip instead
    // of two. A refused rate limit gives the reservation back; the call is made only when both said yes.
    let first: Promise<number> | undefined = reserveAttempt(plan, 0);
    first.catch(() => undefined);
    const giveBack = async () => {
      const id = await first?.catch(() => undefined);
      first = undefined;
      if (id !== undefined) await this.deps.book.release(id).catch((error: unknown) => this.deps.log("error", `a reservation could not be given back; it stays counted at its worst case: ${(error as Error).message}`, { reqId: job.requestId }));
    };
    let allowed: boolean;
    try {
      allowed = entry.batched || (await this.deps.limiter.take(tenant.id, tenant.escalationsPerMinute, this.clock()));
    } catch (error) {
      await giveBack();
      entry.breaker.abandoned(permit);
      if (error instanceof StateUnavailable) return degraded("state_unavailable", `the rate limit could not be checked: ${error.message}`);
      throw error;
    }
    if (!allowed) {
      await giveBack();
      entry.breaker.abandoned(permit);
      return degraded("rate_limited", `tenant '${tenant.id}' is over ${tenant.escalationsPerMinute} escalations per minute`);
    }

    try {
      const { value, cost } = await withRetries(
        (limit, attempt) => {
          const reserved = attempt === 0 ? first : undefined;
          first = undefined;
          return callOnce(plan, limit, attempt, reserved);
        },
        {
        maxRetries: entry.settings.maxRetries,
        baseDelayMs: entry.settings.retryBaseDelayMs,
        timeoutMs: entry.settings.timeoutMs,
        deadline: Math.min(budgetEnd, job.deadline),
        deadlineIsCallers: plan.deadlineIsCallers,
        signal: job.signal,
        random: this.deps.random ?? Math.random,
        },
      );
      entry.breaker.succeeded(permit);
      if (cost.inputTokens !== null && cost.outputTokens !== null) tally.usage = { inputTokens: cost.inputTokens, outputTokens: cost.outputTokens };
      return {
        kind: "answered",
        value,
        provider: entry.provider.name,
        model: entry.provider.model,
        latencyMs: performance.now() - started,
        costUsd: paid,
        ...(tally.usage ? { usage: tally.usage } : {}),
      };
    } catch (error) {
      // A first attempt that never started (the deadline had passed) leaves its reservation unused.
      await giveBack();
      if (error instanceof BudgetExhausted) {
        entry.breaker.abandoned(permit);
        return degraded("over_budget", `tenant '${tenant.id}' has not enough of its daily budget (${tenant.dailyBudgetUsd} USD) left for this call`);
      }
      if (error instanceof SpendUnrecorded) {
        entry.breaker.abandoned(permit);
        this.deps.metrics.ledgerErrors.inc();
        return degraded(error.cause instanceof StateUnavailable ? "state_unavailable" : "ledger_unavailable", error.message);
      }
      const failure = error instanceof FrontierError ? error : new FrontierError("connection", String(error));
      if (failure.failure === "aborted" || job.signal.aborted) {
        entry.breaker.abandoned(permit);
        return degraded("cancelled", "the client went away");
      }
      // The caller's own short deadline says nothing of the provider's health.
      if (failure.options.callerDeadline) {
        entry.breaker.abandoned(permit);
        return degraded("deadline", failure.message);
      }
      entry.breaker.failed(permit);
      return degraded(failure.failure as Exclude<FrontierFailure, "aborted">, failure.message);
    }
  }

  private clock(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private afterSettle(entry: ProviderEntry, tenant: Tenant, settlement: CallSettlement, written: boolean, error?: Error): void {
    const provider = entry.provider.name;
    this.spenders.set(tenant.id, tenant);
    this.deps.metrics.frontierCalls.inc({ provider, result: settlement.result });
    this.deps.metrics.frontierLatency.observe({ provider }, settlement.latencyMs / 1000);
    this.deps.metrics.spend.inc({ tenant: tenant.id, provider }, settlement.costUsd);
    if (!written) {
      this.deps.metrics.ledgerErrors.inc();
      this.deps.log("error", `a frontier call could not be settled in the ledger; it stays counted at its worst case: ${error?.message}`, { provider });
    }
  }
}

export function hashInput(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}
