import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../server/models/manifest-validation.js";
import { negationPairHits, replayArm, replayStream } from "../../bench/semantic-cache/run-semantic-cache-bench.js";
import { changeNamesAndNumbers, negate, reorderLines } from "../../bench/semantic-cache/variants.js";
import { loadSplits } from "../../training/data/load-splits.js";
import { createRng } from "../../training/random.js";
import { MODELS_DIR } from "../helpers/server.js";

describe("bench semantic-cache", () => {
  it("makes variants that keep the message, and negations that change it", () => {
    const text = "Hi Maria,\nthe server will restart at 10:30.\nSave your work.\nThanks, Piotr";
    const rng = createRng(3);
    expect(reorderLines(text, rng)?.split("\n").sort()).toEqual(text.split("\n").sort());
    expect(changeNamesAndNumbers(text, createRng(1))).not.toBe(text);
    expect(negate(text)).toBe("Hi Maria,\nthe server will not restart at 10:30.\nSave your work.\nThanks, Piotr");
    expect(negate("Free money now")).toBeUndefined();
  });

  it("replays a stream: variants after their originals, fewer frontier calls with the semantic cache, no negation pair hit", async () => {
    const manifest = await readManifest(join(MODELS_DIR, "email-spam", "1"));
    const { test } = await loadSplits({ kind: "email", protocol: "random" }, { seed: 1, testFraction: 0.2, validationFraction: 0.1 });
    const stream = replayStream(test.slice(0, 300), 5);
    for (const [at, item] of stream.entries()) if (item.of !== undefined) expect(item.of).toBeLessThan(at);
    const all = stream.map(() => true);
    const exact = replayArm("exact", stream, all, manifest, false);
    const semantic = replayArm("semantic", stream, all, manifest, true);
    expect(exact.semanticHits).toBe(0);
    expect(exact.frontierCalls).toBe(stream.length);
    expect(semantic.semanticHits).toBeGreaterThan(stream.filter((i) => i.kind === "reordered" || i.kind === "renamed").length / 2);
    expect(semantic.frontierCalls).toBe(stream.length - semantic.semanticHits);
    const negations = negationPairHits(stream, manifest.semanticCache!.similarity);
    expect(negations.pairs).toBeGreaterThan(30);
    expect(negations.hits).toBe(0);
  });
});
