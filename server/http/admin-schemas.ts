import { z } from "zod";

const nullableString = z.string().nullable();
const nullableNumber = z.number().nullable();

export const EscalationStatus = z.object({
  enabled: z.boolean(),
  price_table: z.string(),
  providers: z.array(z.object({ name: z.string(), kind: z.string(), model: z.string(), breaker: z.enum(["closed", "open", "half_open"]) })),
  tenants: z.array(
    z.object({ id: z.string(), role: z.string(), day: z.string(), spent_usd: z.number(), reserved_usd: z.number(), daily_budget_usd: z.number() }),
  ),
});

/** Fields every ledger record has (see server/ledger/ledger.ts). */
const RecordBody = z.object({
  id: z.number(),
  time: z.string(),
  tenant: z.string(),
  model: z.string(),
  version: z.string(),
  input_hash: z.string(),
  input_text: nullableString,
  specialist_label: z.string(),
  specialist_confidence: z.number(),
  frontier_label: nullableString,
});

export const EscalationRecordBody = RecordBody.extend({
  reason: z.string(),
  provider: nullableString,
  frontier_model: nullableString,
  input_tokens: nullableNumber,
  output_tokens: nullableNumber,
  cost_usd: z.number(),
  latency_ms: z.number(),
  outcome: z.enum(["answered", "degraded"]),
  failure: nullableString.describe("Why the input was not answered by the frontier (the degraded reason); null when it was."),
  message: nullableString.describe("What happened, in words (secrets and answer contents left out); null when answered."),
  prompt: nullableString,
  price_version: nullableString,
  request_id: nullableString.describe("The request that escalated (x-request-id); its log lines and frontier calls carry it too."),
  calls: z.number().describe("Frontier calls made: tries and retries."),
  usage_source: nullableString.describe("Where the token counts behind cost_usd came from: provider, counted (the provider reported none), reserved (charged at the worst case)."),
});

export const ReviewItemBody = RecordBody.extend({
  status: z.enum(["open", "resolved"]),
  human_label: nullableString,
  resolved_at: nullableString,
  resolved_by: nullableString,
});

/** Ledger rows are camelCase in TypeScript; the HTTP API speaks snake_case throughout. */
export function snakeKeys<T extends object>(row: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

export const ShadowReport = z.object({
  since: z.string(),
  models: z.array(
    z.object({
      model: z.string(),
      version: z.string(),
      shadow_rate: z.number().nullable().describe("The model's current shadowRate; null when it is no longer served."),
      calls: z.number(),
      answered: z.number(),
      agreement: z.number().nullable().describe("Share of answered shadow calls whose frontier label was the specialist's."),
      frontier_latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
      cost_usd: z.number(),
    }),
  ),
});
