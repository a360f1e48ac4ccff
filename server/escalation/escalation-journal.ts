import type { LedgerStore } from "../ledger/ledger-store.js";
import type { EscalationMetrics } from "../metrics/escalation-metrics.js";
import type { CallOutcome, CallTally, Degraded, DegradeReason, EscalationLog, FrontierJob, LedgerSubject } from "./escalation-types.js";

/** States of the configuration, not failures: one line each would only repeat what start-up or the switch said. */
const QUIET: ReadonlySet<DegradeReason> = new Set(["escalation_disabled", "no_provider"]);
/** Decisions of the cascade's own controls: expected under load, logged below the level of a provider failure. */
const POLICY: ReadonlySet<DegradeReason> = new Set(["rate_limited", "over_budget", "circuit_open", "cancelled"]);

export interface JournalDeps {
  ledger: LedgerStore;
  metrics: EscalationMetrics;
  log: EscalationLog;
  priceVersion: string;
  clock(): Date;
}

/** What is written about each escalation once it ends: one log line when it failed, a counter and a ledger row. */
export class EscalationJournal {
  constructor(private readonly deps: JournalDeps) {}

  /** One line per escalation the frontier did not answer: the request, the provider, the cause and what happened. */
  degraded<T>(job: FrontierJob<T>, reason: string, provider: string | null, outcome: Degraded, tally: CallTally): void {
    const level = QUIET.has(outcome.reason) ? "debug" : POLICY.has(outcome.reason) ? "info" : "warn";
    const fields = { reqId: job.requestId, tenant: job.tenant.id, model: job.manifest.name, provider, reason, cause: outcome.reason, calls: tally.calls };
    this.deps.log(level, `escalation degraded (${outcome.reason}): ${outcome.message}`, fields);
  }

  async record<T>(job: FrontierJob<T>, subject: LedgerSubject, provider: { name: string; model: string } | undefined, outcome: CallOutcome<T>, tally: CallTally): Promise<void> {
    const { manifest } = job;
    if (subject.reason !== "shadow") {
      this.deps.metrics.escalations.inc({ model: manifest.name, outcome: outcome.kind, reason: outcome.kind === "answered" ? subject.reason : outcome.reason });
    }
    const { frontierAnswer, ...fields } = subject;
    try {
      await this.deps.ledger.recordEscalation({
        ...fields,
        time: this.deps.clock().toISOString(),
        tenant: job.tenant.id,
        model: manifest.name,
        version: manifest.version,
        provider: provider?.name ?? null,
        frontierModel: provider?.model ?? null,
        frontierLabel: outcome.kind === "answered" ? frontierAnswer(outcome.value) : null,
        inputTokens: tally.usage?.inputTokens ?? null,
        outputTokens: tally.usage?.outputTokens ?? null,
        costUsd: outcome.costUsd,
        latencyMs: outcome.latencyMs,
        outcome: outcome.kind,
        failure: outcome.kind === "degraded" ? outcome.reason : null,
        message: outcome.kind === "degraded" ? outcome.message : null,
        priceVersion: this.deps.priceVersion,
        requestId: job.requestId,
        calls: tally.calls,
        usageSource: tally.usageSource,
      });
    } catch (error) {
      this.deps.metrics.ledgerErrors.inc();
      this.deps.log("error", `ledger write failed (serving goes on): ${(error as Error).message}`, { reqId: job.requestId });
    }
  }
}
