import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { DEFAULT_SIM_LATENCY, sampleLatency } from "../../bench/sim/latency-model.js";
import { SimFrontier } from "../../bench/sim/sim-frontier.js";
import { createRng } from "../../training/random.js";

const quantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

describe("simulated frontier", () => {
  it("draws latencies whose 5th, 50th and 95th percentiles are 800, 2,000 and 5,000 ms by default", () => {
    const rng = createRng(7);
    const samples = Array.from({ length: 20_000 }, () => sampleLatency(DEFAULT_SIM_LATENCY, rng)).sort((a, b) => a - b);
    expect(quantile(samples, 0.05)).toBeGreaterThan(800 * 0.95);
    expect(quantile(samples, 0.05)).toBeLessThan(800 * 1.05);
    expect(quantile(samples, 0.5)).toBeGreaterThan(2000 * 0.97);
    expect(quantile(samples, 0.5)).toBeLessThan(2000 * 1.03);
    expect(quantile(samples, 0.95)).toBeGreaterThan(5000 * 0.95);
    expect(quantile(samples, 0.95)).toBeLessThan(5000 * 1.05);
  });

  it("answers wrongly at its error rate, and with the gold label otherwise", () => {
    const sim = new SimFrontier({ labels: ["ham", "spam"], goldOf: () => "spam", latency: DEFAULT_SIM_LATENCY, errorRate: 0.02, seed: 3 });
    const answers = Array.from({ length: 20_000 }, () => sim.decide("x").label);
    const wrong = answers.filter((l) => l !== "spam").length / answers.length;
    expect(wrong).toBeGreaterThan(0.017);
    expect(wrong).toBeLessThan(0.023);
    expect(sim.stats.wrong).toBe(answers.filter((l) => l !== "spam").length);
  });

  it("speaks OpenAI Chat Completions to the official client, with usage and the delay it drew", async () => {
    const sim = await new SimFrontier({ labels: ["ham", "spam"], goldOf: (u) => (u.includes("FREE") ? "spam" : "ham"), latency: { medianMs: 60, sigma: 0.01 }, errorRate: 0, seed: 1 }).start();
    try {
      const client = new OpenAI({ apiKey: "simulated", baseURL: `${sim.url}/v1`, maxRetries: 0 });
      const started = Date.now();
      const r = await client.chat.completions.create({ model: "gpt-5", messages: [{ role: "user", content: "Win a FREE cruise" }] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ label: "spam" });
      expect(r.usage!.prompt_tokens).toBeGreaterThan(3);
      expect(r.usage!.completion_tokens).toBeGreaterThan(0);
      expect(sim.stats).toMatchObject({ requests: 1, wrong: 0, unknown: 0 });
    } finally {
      await sim.stop();
    }
  });
});
