import { Counter, Gauge, Histogram, type Registry, exponentialBuckets } from "prom-client";

/** The cascade's metrics, on the server's registry. */
export class EscalationMetrics {
  readonly escalations: Counter<"model" | "outcome" | "reason">;
  readonly frontierCalls: Counter<"provider" | "result">;
  readonly frontierLatency: Histogram<"provider">;
  readonly spend: Counter<"tenant" | "provider">;
  readonly budgetRemaining: Gauge<"tenant">;
  /** Sets `budgetRemaining` for the tenants that escalated; called at each scrape. */
  budgetSource?: (gauge: Gauge<"tenant">) => Promise<void>;
  readonly costAvoided: Counter<"model">;
  readonly agreement: Counter<"model" | "agree">;
  readonly shadow: Counter<"model" | "outcome" | "agree">;
  readonly breakerState: Gauge<"provider">;
  readonly reviews: Counter<"model">;
  readonly ledgerErrors: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.escalations = new Counter({
      name: "specialist_escalations_total",
      help: "Inputs below their model's threshold sent towards the frontier: answered, or degraded with the reason.",
      labelNames: ["model", "outcome", "reason"] as const,
      registers,
    });
    this.frontierCalls = new Counter({
      name: "specialist_frontier_calls_total",
      help: "Calls (attempts, retries included) to frontier providers, by result.",
      labelNames: ["provider", "result"] as const,
      registers,
    });
    this.frontierLatency = new Histogram({
      name: "specialist_frontier_call_duration_seconds",
      help: "Duration of frontier calls (each attempt).",
      labelNames: ["provider"] as const,
      buckets: exponentialBuckets(0.05, 2, 12),
      registers,
    });
    this.spend = new Counter({
      name: "specialist_frontier_spend_usd_total",
      help: "Frontier spend settled, in USD, by tenant and provider.",
      labelNames: ["tenant", "provider"] as const,
      registers,
    });
    const metrics = this;
    this.budgetRemaining = new Gauge({
      name: "specialist_budget_remaining_usd",
      help: "What is left of the tenant's daily frontier budget (reservations of calls in flight deducted).",
      labelNames: ["tenant"] as const,
      registers,
      // Read from the spend book when scraped: in a fleet it is the shared figure, and no request waits for it.
      async collect() {
        await metrics.budgetSource?.(this);
      },
    });
    this.costAvoided = new Counter({
      name: "specialist_cost_avoided_usd_total",
      help: "Estimated frontier cost of the inputs the specialist answered alone (specialist tokens × the default provider's input price).",
      labelNames: ["model"] as const,
      registers,
    });
    this.agreement = new Counter({
      name: "specialist_frontier_agreement_total",
      help: "Escalated inputs whose frontier label agreed (or not) with the specialist's: a drift signal.",
      labelNames: ["model", "agree"] as const,
      registers,
    });
    this.shadow = new Counter({
      name: "specialist_shadow_calls_total",
      help: "Shadow mode: confident specialist answers also sent to the frontier in the background; answered (agree true/false) or degraded (agree none).",
      labelNames: ["model", "outcome", "agree"] as const,
      registers,
    });
    this.breakerState = new Gauge({
      name: "specialist_breaker_state",
      help: "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
      labelNames: ["provider"] as const,
      registers,
    });
    this.reviews = new Counter({
      name: "specialist_review_items_total",
      help: "Inputs queued for human review.",
      labelNames: ["model"] as const,
      registers,
    });
    this.ledgerErrors = new Counter({
      name: "specialist_ledger_write_errors_total",
      help: "Ledger writes that failed (disk full, read-only file); serving went on.",
      registers,
    });
  }
}
