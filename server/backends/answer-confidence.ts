import type { GenerationConfidence } from "../models/manifest.js";
import type { z } from "zod";
import { calibratedSoftmax } from "./classification-scores.js";
import type { TokenLogprob } from "./generation.js";

type Settings = z.output<typeof GenerationConfidence>;

/** Keeps log(1 - p) finite for an answer the model is certain of. */
const CERTAIN = 1 - 1e-12;

/**
 * Where the values of the schema's enum properties sit in a JSON answer: [start, end) character spans of each
 * top-level property whose schema lists allowed strings.
 */
function enumValueSpans(text: string, schema: Record<string, unknown> | undefined): Array<[number, number]> {
  const properties = (schema?.properties ?? {}) as Record<string, { enum?: unknown }>;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof answer !== "object" || answer === null) return [];
  const spans: Array<[number, number]> = [];
  for (const [key, property] of Object.entries(properties)) {
    const value = (answer as Record<string, unknown>)[key];
    if (!Array.isArray(property?.enum) || typeof value !== "string" || !property.enum.includes(value)) continue;
    const at = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:\\s*"`).exec(text);
    if (at) spans.push([at.index + at[0].length, at.index + at[0].length + JSON.stringify(value).length - 2]);
  }
  return spans;
}

/**
 * One log-probability for a whole answer, as the model's `generation.score` says: `label` sums the tokens that spell
 * the chosen enum values (the log-probability of the label), `min` takes the least likely token, `mean` the average.
 * Undefined for an empty answer.
 */
export function answerLogScore(text: string, tokens: readonly TokenLogprob[], score: Settings["score"], schema?: Record<string, unknown>): number | undefined {
  if (tokens.length === 0) return undefined;
  if (score === "label") {
    const spans = enumValueSpans(text, schema);
    if (spans.length > 0) {
      let offset = 0;
      let sum = 0;
      for (const t of tokens) {
        const end = offset + t.token.length;
        if (spans.some(([a, b]) => offset < b && end > a)) sum += t.logprob;
        offset = end;
      }
      return sum;
    }
  }
  if (score === "min") return Math.min(...tokens.map((t) => t.logprob));
  return tokens.reduce((sum, t) => sum + t.logprob, 0) / tokens.length;
}

/**
 * The calibrated confidence of an answer with log-score `s`: the two-way softmax of [log p, log(1 − p)] at the
 * model's temperature, the same temperature scaling as a two-label classification (and fitted by the same code).
 */
export function answerConfidence(logScore: number, temperature: number): number {
  return calibratedSoftmax(answerLogits(logScore), temperature)[0]!;
}

/** The two logits an answer score stands for: "right" and "wrong". */
export function answerLogits(logScore: number): [number, number] {
  const p = Math.min(Math.exp(logScore), CERTAIN);
  return [Math.log(Math.max(p, Number.MIN_VALUE)), Math.log1p(-p)];
}
