import { Registry } from "prom-client";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { ResponseCache } from "../../server/cache/response-cache.js";
import { ModelManifest } from "../../server/models/manifest-validation.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const liveBytes = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const manifest = ModelManifest.parse({
  name: "m", version: "1", format: "onnx", task: "text-classification", labels: ["a", "b"],
  artifacts: { model: "model.onnx", tokenizer: "." }, threshold: 0.5,
});

describe("response cache memory", () => {
  // Regression: keys held each input's normalised text, so a full cache of long inputs held gigabytes.
  it("does not keep the inputs: 2,000 entries of 100,000-character texts take a few MiB, not 200", () => {
    const cache = new ResponseCache<{ label: string }>({ enabled: true, maxEntries: 10_000, ttlMs: 3_600_000 }, new Registry());
    const before = liveBytes();
    for (let i = 0; i < 2_000; i++) cache.set("tenant", manifest, `${i} ${"word ".repeat(20_000)}`, { label: "a" });
    const grown = liveBytes() - before;
    // Still exact-match on the normalised text: extra white space hits, another word misses.
    expect(cache.get("tenant", manifest, `7  ${"word  ".repeat(20_000)}`)).toEqual({ label: "a" });
    expect(cache.get("tenant", manifest, `7 ${"word ".repeat(19_999)}ward`)).toBeUndefined();
    expect(grown).toBeLessThan(16 * 2 ** 20);
  });
});
