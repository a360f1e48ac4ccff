import { describe, expect, it } from "vitest";
import { measureEngineAlone } from "../../bench/peer/engine-alone.js";

const MODEL = new URL("../../models/email-spam-llama/1/model.gguf", import.meta.url).pathname;

describe("bench peer's node-llama-cpp-alone column", () => {
  it("runs the closed chat loop in a child process and reports answers and tokens per second", async () => {
    const texts = ["Win a free cruise, click now", "The quarterly report is attached.", "x ".repeat(400)];
    const r = await measureEngineAlone({ modelPath: MODEL, threads: 1, slots: 2, contextPerSlot: 256, clients: 2, seconds: 1, maxTokens: 4, texts });
    expect(r.clients).toBe(2);
    expect(r.requests).toBeGreaterThan(2);
    expect(r.throughput).toBeCloseTo(r.requests / r.seconds, 6);
    // At most 4 tokens per answer; the 800-character text does not fit 256 tokens and is left out, as the servers refuse it.
    expect(r.tokensPerSecond).toBeLessThanOrEqual(4 * r.throughput + 1e-9);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
  }, 60_000);

  it("fails with the child's error when the model cannot be read", async () => {
    await expect(measureEngineAlone({ modelPath: "/nonexistent/model.gguf", threads: 1, slots: 1, contextPerSlot: 128, clients: 1, seconds: 1, maxTokens: 2, texts: ["a"] })).rejects.toThrow(/node-llama-cpp alone failed \(exit 1\):[\s\S]*nonexistent/);
  }, 60_000);
});
