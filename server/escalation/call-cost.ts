import { countTokens } from "./token-count.js";
import type { UsageSource } from "../state/spend-book.js";
import type { ModelPrice } from "../config/escalation-schema.js";
import { costUsd } from "./price-table.js";

/** Token counts as a provider reported them; each only when it was a non-negative integer. */
export interface ReportedUsage {
  inputTokens?: number;
  outputTokens?: number;
  /** Some OpenAI-compatible servers send only this. */
  totalTokens?: number;
}

/** A provider's token field, kept only when it is a count: anything else is treated as not reported. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

export interface CallCost {
  costUsd: number;
  inputTokens: number | null;
  outputTokens: number | null;
  usageSource: UsageSource;
}

/**
 * What a call that reached the provider costs. The provider's counts when it gave both; otherwise the missing ones
 * are counted here with the tokenizer the reservation used (output from `total_tokens` when given, as that includes
 * reasoning tokens); when even the answer's text is unknown, the reserved worst case. Always a finite number:
 * every count is a non-negative integer (`tokenCount`) and prices are validated.
 */
export function callCost(
  price: ModelPrice,
  reported: ReportedUsage | undefined,
  counted: { inputTokens: number; outputText: string | undefined },
  worstCaseUsd: number,
): CallCost {
  const input = reported?.inputTokens;
  const output = reported?.outputTokens;
  if (input !== undefined && output !== undefined) return { costUsd: costUsd(price, input, output), inputTokens: input, outputTokens: output, usageSource: "provider" };
  const inputTokens = input ?? counted.inputTokens;
  const total = reported?.totalTokens;
  const visible = counted.outputText === undefined ? undefined : countTokens(counted.outputText);
  const outputTokens = output ?? (total !== undefined ? Math.max(total - inputTokens, visible ?? 0) : visible);
  if (outputTokens === undefined) return { costUsd: worstCaseUsd, inputTokens: null, outputTokens: null, usageSource: "reserved" };
  return { costUsd: costUsd(price, inputTokens, outputTokens), inputTokens, outputTokens, usageSource: "counted" };
}

/** The counts of a provider's `usage` object, under that provider's field names; undefined when it sent none. */
export function reportedUsage(usage: unknown, fields: { input: string; output: string; total?: string }): ReportedUsage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as Record<string, unknown>;
  const counts = { inputTokens: tokenCount(u[fields.input]), outputTokens: tokenCount(u[fields.output]), totalTokens: fields.total ? tokenCount(u[fields.total]) : undefined };
  return Object.fromEntries(Object.entries(counts).filter(([, v]) => v !== undefined));
}
