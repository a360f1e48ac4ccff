import type { ModelPrice } from "../config/escalation-schema.js";

/**
 * List prices in USD per million tokens, as published by the vendors on the date below. Prices change: override
 * or extend them with `escalation.prices` in the configuration, and check the date before trusting a report.
 */
export const PRICE_TABLE = {
  version: "2025-11-01",
  source: "vendor price pages (openai.com/api/pricing, anthropic.com/pricing), list prices without batch or cache discounts",
  models: {
    "gpt-5": { inputUsdPerMTok: 1.25, outputUsdPerMTok: 10 },
    "gpt-5-mini": { inputUsdPerMTok: 0.25, outputUsdPerMTok: 2 },
    "gpt-5-nano": { inputUsdPerMTok: 0.05, outputUsdPerMTok: 0.4 },
    "gpt-4.1": { inputUsdPerMTok: 2, outputUsdPerMTok: 8 },
    "gpt-4.1-mini": { inputUsdPerMTok: 0.4, outputUsdPerMTok: 1.6 },
    "gpt-4o": { inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 },
    "gpt-4o-mini": { inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
    "claude-opus-4-1": { inputUsdPerMTok: 15, outputUsdPerMTok: 75 },
    "claude-sonnet-4-5": { inputUsdPerMTok: 3, outputUsdPerMTok: 15 },
    "claude-haiku-4-5": { inputUsdPerMTok: 1, outputUsdPerMTok: 5 },
  } satisfies Record<string, ModelPrice>,
} as const;

export interface PriceBook {
  version: string;
  priceOf(model: string): ModelPrice | undefined;
}

/** The built-in table with the configuration's prices laid over it. */
export function priceBook(overrides: Record<string, ModelPrice>): PriceBook {
  const prices = new Map<string, ModelPrice>([...Object.entries(PRICE_TABLE.models), ...Object.entries(overrides)]);
  const version = Object.keys(overrides).length > 0 ? `${PRICE_TABLE.version}+config` : PRICE_TABLE.version;
  return { version, priceOf: (model) => prices.get(model) };
}

export function costUsd(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  return (inputTokens * price.inputUsdPerMTok + outputTokens * price.outputUsdPerMTok) / 1_000_000;
}
