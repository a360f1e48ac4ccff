import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GgufBackend } from "../../server/backends/gguf/gguf-backend.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadSplits } from "../../training/data/load-splits.js";
import { metricValue, postJson, startTestServer, SURE } from "../helpers/server.js";

// The bundled GGUF specialist (models/email-spam-llama/1, made by `npm run train:email-gguf`), served by llama.cpp.
const MODEL = "email-spam-llama";
let server: RunningServer;
let busy: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ models: { serve: [MODEL] }, cache: { enabled: false } });
  // One sequence and a short queue, to fill it on purpose.
  busy = await startTestServer({
    models: { serve: [MODEL], overrides: { [MODEL]: { gguf: { sequences: 1 }, batching: { maxQueueSize: 64 }, limits: { maxInputsPerRequest: 64 } } } },
    cache: { enabled: false },
  });
});

afterAll(async () => {
  await server?.close();
  await busy?.close();
});

const classify = (s: RunningServer, input: string | string[], extra: Record<string, unknown> = {}) =>
  postJson(s, "/v1/classify", { model: MODEL, input, ...extra });

describe("GGUF classification through /v1/classify", () => {
  it("answers in the same shape as ONNX models, and knows plain spam and plain ham", async () => {
    const ham = "Hi all, the patch for the build failure is in CVS now; please test it before the release on Friday.";
    const r = await classify(server, [SURE, ham]);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model: MODEL, version: "1" });
    expect(r.json.results.map((x: { label: string }) => x.label)).toEqual(["spam", "ham"]);
    for (const x of r.json.results) {
      expect(x.scores.ham + x.scores.spam).toBeCloseTo(1, 9);
      expect(x.confidence).toBe(Math.max(x.scores.ham, x.scores.spam));
      expect(x.tokens).toBeGreaterThan(5);
    }
  });

  it("reads label probabilities from llama.cpp normalised over the labels' first tokens", async () => {
    const backend = server.context.registry.get(MODEL) as GgufBackend;
    for (const text of [SURE, "Meeting notes attached.", "x"]) {
      const total = (await backend.labelLogProbabilities(text)).reduce((sum, lp) => sum + Math.exp(lp), 0);
      expect(total).toBeCloseTo(1, 5); // one token per label: the labels hold all the mass read
    }
  });

  it("reaches ≥ 95% accuracy on a sample of the held-out split", async () => {
    const { test } = await loadSplits({ kind: "email", protocol: "random" }, { seed: 1, testFraction: 0.2, validationFraction: 0.1 });
    const sample = test.filter((_, i) => i % 6 === 0);
    const r = await classify(server, sample.map((e) => e.text));
    const correct = r.json.results.filter((x: { label: string }, i: number) => x.label === sample[i]!.label).length;
    expect(correct / sample.length).toBeGreaterThanOrEqual(0.95);
  });

  it("gives every input its own answer when sequences of unequal length share a decode (regression: swapped answers)", async () => {
    const { test } = await loadSplits({ kind: "email", protocol: "random" }, { seed: 1, testFraction: 0.2, validationFraction: 0.1 });
    const texts = test.filter((_, i) => i % 6 === 0).map((e) => e.text);
    const alone: number[] = [];
    for (const text of texts) alone.push((await classify(server, text)).json.results[0].scores.spam);
    for (let round = 0; round < 5; round++) {
      const together = (await classify(server, texts)).json.results.map((x: { scores: { spam: number } }) => x.scores.spam);
      const crossed = texts.map((_, i) => i).filter((i) => Math.abs(together[i] - alone[i]!) > 1e-4);
      expect(crossed, `round ${round}`).toEqual([]);
    }
  });

  it("reports truncation to the model's input length", async () => {
    const r = await classify(server, "free money ".repeat(2000));
    expect(r.json.results[0].truncated).toBe(true);
  });

  it("evaluates concurrent requests on several sequences of one context at once", async () => {
    await Promise.all(Array.from({ length: 16 }, (_, i) => classify(server, `${SURE} ${i}`)));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const total = metricValue(metrics, "specialist_sequences_busy_count", `model="${MODEL}"`)!;
    const alone = metricValue(metrics, "specialist_sequences_busy_bucket", `model="${MODEL}"`, 'le="1"')!;
    expect(total).toBeGreaterThan(alone);
  });
});

describe("GGUF back-pressure", () => {
  it("answers 429 when the queue is full and 504 past the deadline", async () => {
    const long = Array.from({ length: 64 }, (_, i) => `${i} ${"a long email body with many words in it ".repeat(60)}`);
    const first = classify(busy, long);
    // Poll the queue depth rather than sleep: on a loaded machine the first request may take a while to queue.
    const giveUp = Date.now() + 10_000;
    for (;;) {
      const depth = metricValue(await (await fetch(`${busy.url}/metrics`)).text(), "specialist_queue_depth", `model="${MODEL}"`) ?? 0;
      if (depth >= 60) break;
      if (Date.now() > giveUp) throw new Error("the first request never filled the queue");
      await new Promise((r) => setTimeout(r, 2));
    }
    // 32 inputs do not fit while more than 32 of the 64 wait; two would fit again as soon as two had left (a race).
    const rejected = await classify(busy, Array.from({ length: 32 }, (_, i) => `short ${i}`));
    expect(rejected.status).toBe(429);
    expect(rejected.json.error.code).toBe("ERR_QUEUE_FULL");
    expect((await first).status).toBe(200);
    const late = await classify(busy, long.slice(0, 40), { deadline_ms: 30 });
    expect(late.status).toBe(504);
    expect(late.json.error.code).toBe("ERR_DEADLINE_EXCEEDED");
    expect((await classify(busy, "still serving")).status).toBe(200);
  });
});
