import { performance } from "node:perf_hooks";
import { Registry } from "prom-client";
import { normaliseInput } from "../../server/cache/response-cache.js";
import { cosine } from "../../server/cache/lexical-vector.js";
import { SemanticCache } from "../../server/cache/semantic-cache.js";
import { isSemanticHit, semanticKey, similarity } from "../../server/cache/semantic-match.js";
import { wilsonUpper } from "../../server/cache/similarity-threshold.js";
import { belowThreshold } from "../../server/escalation/confidence-policy.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { ModelManifest } from "../../server/models/manifest.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { changeNamesAndNumbers, negate, reorderLines } from "./variants.js";

/** One text of the replayed stream, with where it came from. */
export interface StreamItem {
  text: string;
  label: string;
  kind: "original" | "reordered" | "renamed" | "negated";
  /** For a variant: the index (in the stream) of the email it was made from. */
  of?: number;
}

/**
 * The test split in a random order, with variants of part of it placed after their originals: reordered lines or
 * changed names and numbers (same label: the same message) for every other email, a negation for every fourth.
 */
export function replayStream(test: readonly LabelledExample[], seed: number): StreamItem[] {
  const rng = createRng(seed);
  const originals: StreamItem[] = shuffleInPlace([...test], rng).map((e) => ({ text: e.text, label: e.label, kind: "original" }));
  const stream: StreamItem[] = [...originals];
  const sources = new Map<StreamItem, StreamItem>();
  originals.forEach((original, i) => {
    const variants: StreamItem[] = [];
    if (i % 2 === 0) {
      const reordered = reorderLines(original.text, rng);
      const renamed = changeNamesAndNumbers(original.text, rng);
      const options = [reordered && { kind: "reordered" as const, text: reordered }, renamed && { kind: "renamed" as const, text: renamed }];
      // One of the two at random; the other when the first cannot be made.
      const first = rng() < 0.5 ? 0 : 1;
      const chosen = options[first] || options[1 - first];
      if (chosen) variants.push({ ...chosen, label: original.label });
    }
    if (i % 4 === 0) {
      const negated = negate(original.text);
      if (negated) variants.push({ text: negated, label: original.label, kind: "negated" });
    }
    for (const variant of variants) {
      // Somewhere after the original, so the original's answer can be there to reuse.
      const from = stream.indexOf(original);
      stream.splice(from + 1 + Math.floor(rng() * (stream.length - from)), 0, variant);
      sources.set(variant, original);
    }
  });
  const position = new Map(stream.map((item, at) => [item, at]));
  return stream.map((item) => (sources.has(item) ? { ...item, of: position.get(sources.get(item)!)! } : item));
}

export interface ArmResult {
  arm: string;
  /** Inputs that needed the frontier (all of them, or those the specialist escalated). */
  lookups: number;
  exactHits: number;
  semanticHits: number;
  /** Semantic hits whose stored answer is not the input's true label; negated inputs excluded (true label unknown). */
  falseHits: number;
  falseHitRate: number;
  falseHitUpperBound: number;
  frontierCalls: number;
  /** Semantic hits on negated inputs (any stored text); must be 0 for the negation's own original. */
  negatedHits: number;
  hitsByKind: Record<string, number>;
  lookupMs: { p50: number; p99: number; max: number };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * One pass of the stream through the exact cache and, when `semantic`, the semantic cache, as one tenant of one
 * model version. The frontier stand-in answers with the true label: a false hit is the cache's error alone.
 */
export function replayArm(arm: string, stream: readonly StreamItem[], needsFrontier: readonly boolean[], manifest: ModelManifest, semantic: boolean): ArmResult {
  const cache = new SemanticCache({ enabled: semantic, maxEntriesPerModel: 100_000, ttlMs: 86_400_000 }, new Registry());
  const exact = new Map<string, string>();
  const times: number[] = [];
  const hitsByKind: Record<string, number> = {};
  let lookups = 0;
  let exactHits = 0;
  let semanticHits = 0;
  let falseHits = 0;
  let judged = 0;
  let frontierCalls = 0;
  let negatedHits = 0;
  stream.forEach((item, at) => {
    if (!needsFrontier[at]) return;
    lookups++;
    const normalised = normaliseInput(item.text);
    if (exact.has(normalised)) {
      exactHits++;
      return;
    }
    const key = cache.keyFor(manifest, item.text);
    if (key) {
      const started = performance.now();
      const hit = cache.lookup("bench", manifest, key);
      times.push(performance.now() - started);
      if (hit) {
        semanticHits++;
        hitsByKind[item.kind] = (hitsByKind[item.kind] ?? 0) + 1;
        if (item.kind === "negated") negatedHits++;
        else {
          judged++;
          if (hit.answer.label !== item.label) falseHits++;
        }
        return;
      }
    }
    frontierCalls++;
    exact.set(normalised, item.label);
    if (key) cache.remember("bench", manifest, key, { label: item.label, provider: "stand-in", model: "gold-label" });
  });
  times.sort((a, b) => a - b);
  return {
    arm,
    lookups,
    exactHits,
    semanticHits,
    falseHits,
    falseHitRate: judged > 0 ? falseHits / judged : 0,
    falseHitUpperBound: wilsonUpper(falseHits, judged),
    frontierCalls,
    negatedHits,
    hitsByKind,
    lookupMs: { p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1) ?? 0 },
  };
}

/** Every (original, negation) pair of the stream under the serving rule: how many would hit. Must be none. */
export function negationPairHits(stream: readonly StreamItem[], threshold: number): { pairs: number; hits: number; closest: number } {
  let pairs = 0;
  let hits = 0;
  let closest = 0;
  for (const item of stream) {
    if (item.kind !== "negated" || item.of === undefined) continue;
    pairs++;
    const query = semanticKey(item.text);
    const original = semanticKey(stream[item.of]!.text);
    if (isSemanticHit(similarity(query, original), threshold)) hits++;
    // How close they are in words alone: what a cache without the negation rule would compare.
    closest = Math.max(closest, cosine(query.vector, original.vector));
  }
  return { pairs, hits, closest };
}

export function escalatedMask(confidences: readonly number[], manifest: ModelManifest): boolean[] {
  return confidences.map((c) => belowThreshold(c, manifest.threshold));
}
