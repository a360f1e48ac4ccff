import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { cosine, lexicalVector } from "../../server/cache/lexical-vector.js";
import { negationSignature } from "../../server/cache/negation-cues.js";
import { SemanticCache } from "../../server/cache/semantic-cache.js";
import { semanticKey, similarity } from "../../server/cache/semantic-match.js";
import { chooseSimilarityThreshold, wilsonUpper, type LabelledPair } from "../../server/cache/similarity-threshold.js";
import { semanticManifest } from "../helpers/semantic-manifest.js";

const INVOICE = "Dear Ann,\nyour invoice 4411 for March is attached.\nPlease pay within 30 days.\nRegards, Tom";

describe("lexical vectors", () => {
  it("are unit length and compare by cosine; digits and case do not matter, line order little", () => {
    const v = lexicalVector(INVOICE);
    expect(cosine(v, v)).toBeCloseTo(1, 6);
    expect(cosine(v, lexicalVector(INVOICE.replace("4411", "9027").replace("30", "45").toUpperCase()))).toBeCloseTo(1, 6);
    const reordered = INVOICE.split("\n").reverse().join("\n");
    expect(cosine(v, lexicalVector(reordered))).toBeGreaterThan(0.85);
    expect(cosine(v, lexicalVector("Win a free cruise today, click the link"))).toBeLessThan(0.1);
  });
});

describe("negation words", () => {
  it("count contractions as 'not', with either apostrophe", () => {
    expect(negationSignature("I do not agree")).toBe("not:1");
    expect(negationSignature("I don't agree")).toBe("not:1");
    expect(negationSignature("I don’t agree, no, never")).toBe("never:1,no:1,not:1");
    expect(negationSignature("I agree")).toBe("");
  });

  it("make two texts incomparable however close their words", () => {
    const negated = INVOICE.replace("is attached", "is not attached");
    expect(similarity(semanticKey(INVOICE), semanticKey(negated))).toBeUndefined();
    expect(similarity({ ...semanticKey(INVOICE), negations: "" }, { ...semanticKey(negated), negations: "" })).toBeGreaterThan(0.9);
  });
});

describe("the similarity threshold", () => {
  it("bounds a rate from above, more tightly with more trials", () => {
    expect(wilsonUpper(0, 817)).toBeCloseTo(0.0033, 4);
    expect(wilsonUpper(0, 10)).toBeGreaterThan(0.2);
    expect(wilsonUpper(5, 10)).toBeGreaterThan(0.5);
  });

  it("is the lowest similarity whose hits keep the false-hit bound under target", () => {
    const pairs: LabelledPair[] = [
      ...Array.from({ length: 1500 }, (_, i) => ({ similarity: 0.99 - i * 0.0002, sameLabel: true })), // 0.99 … 0.69
      { similarity: 0.6, sameLabel: false },
      // Tied pairs are cut together: taking any of these takes all, and half are wrong.
      ...Array.from({ length: 300 }, (_, i) => ({ similarity: 0.5, sameLabel: i % 2 === 0 })),
    ];
    const chosen = chooseSimilarityThreshold(pairs, 0.005)!;
    expect(chosen.similarity).toBeCloseTo(0.6, 6);
    expect(chosen).toMatchObject({ hits: 1501, falseHits: 1 });
    expect(chosen.falseHitUpperBound).toBeLessThanOrEqual(0.005);
  });

  it("is none when the pairs cannot show the target: the cache stays off", () => {
    expect(chooseSimilarityThreshold(Array.from({ length: 50 }, () => ({ similarity: 0.99, sameLabel: true })), 0.005)).toBeUndefined();
    expect(chooseSimilarityThreshold([], 0.005)).toBeUndefined();
  });
});

const manifest = semanticManifest;

describe("SemanticCache", () => {
  const answer = { label: "ham", provider: "p", model: "f" };
  const filled = (settings = { enabled: true, maxEntriesPerModel: 100, ttlMs: 60_000 }) => {
    const registry = new Registry();
    const cache = new SemanticCache(settings, registry);
    const v1 = manifest("1", 0.8);
    cache.remember("a", v1, cache.keyFor(v1, INVOICE)!, answer);
    return { cache, v1, registry };
  };

  it("answers a near-duplicate of the same tenant and version, with its similarity", () => {
    const { cache, v1 } = filled();
    const hit = cache.lookup("a", v1, cache.keyFor(v1, INVOICE.replace("Ann", "Joe").replace("4411", "5123"))!);
    expect(hit?.answer).toEqual(answer);
    expect(hit!.similarity).toBeGreaterThan(0.8);
    expect(cache.lookup("a", v1, cache.keyFor(v1, "Win a free cruise today, click the link")!)).toBeUndefined();
  });

  it("never answers another tenant, another version, or a text whose negations differ", async () => {
    const { cache, v1, registry } = filled();
    const v2 = manifest("2", 0.8);
    expect(cache.lookup("b", v1, cache.keyFor(v1, INVOICE)!)).toBeUndefined();
    expect(cache.lookup("a", v2, cache.keyFor(v2, INVOICE)!)).toBeUndefined();
    expect(cache.lookup("a", v1, cache.keyFor(v1, INVOICE.replace("is attached", "is not attached"))!)).toBeUndefined();
    const text = await registry.metrics();
    expect(text).toMatch(/specialist_semantic_cache_lookups_total\{model="m",result="negation"\} 1/);
    expect(text).toMatch(/specialist_semantic_cache_entries 1/);
  });

  it("is off for a model without a calibrated threshold, or when disabled", () => {
    const registry = new Registry();
    expect(new SemanticCache({ enabled: true, maxEntriesPerModel: 10, ttlMs: 1000 }, registry).keyFor(manifest("1"), INVOICE)).toBeUndefined();
    expect(new SemanticCache({ enabled: false, maxEntriesPerModel: 10, ttlMs: 1000 }, new Registry()).keyFor(manifest("1", 0.8), INVOICE)).toBeUndefined();
  });

  it("forgets expired answers and keeps at most maxEntriesPerModel", async () => {
    const { cache, v1 } = filled({ enabled: true, maxEntriesPerModel: 1, ttlMs: 30 });
    const other = "Team lunch moved to Friday at noon in the usual place";
    cache.remember("a", v1, cache.keyFor(v1, other)!, answer);
    expect(cache.lookup("a", v1, cache.keyFor(v1, INVOICE)!)).toBeUndefined(); // pushed out by the newer one
    expect(cache.lookup("a", v1, cache.keyFor(v1, other)!)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(cache.lookup("a", v1, cache.keyFor(v1, other)!)).toBeUndefined();
  });
});
