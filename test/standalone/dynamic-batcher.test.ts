import { describe, expect, it } from "vitest";
import { performance } from "node:perf_hooks";
import { DynamicBatcher, type BatchOutcome } from "../../server/batching/dynamic-batcher.js";
import { ServingError } from "../../server/errors/registry.js";

interface Call {
  inputs: string[];
  at: number;
  resolve(outcome: BatchOutcome<string>): void;
  reject(error: unknown): void;
}

/** A backend whose batches finish only when the test says so. */
function controlledBackend() {
  const calls: Call[] = [];
  const run = (inputs: string[]) =>
    new Promise<BatchOutcome<string>>((resolve, reject) => calls.push({ inputs, at: performance.now(), resolve, reject }));
  const finish = (call: Call) => call.resolve({ outputs: call.inputs.map((x) => x.toUpperCase()), computeMs: 1 });
  return { calls, run, finish };
}

const far = () => performance.now() + 60_000;
const settings = { maxBatchSize: 4, maxQueueDelayMs: 50, maxQueueSize: 10, concurrency: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DynamicBatcher", () => {
  it("sends a batch as soon as it is full, without waiting for the delay", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher(settings, backend.run);
    const result = batcher.submit(["a", "b", "c", "d"], { deadline: far() });
    // Sent within submit itself, before any timer could fire: no wall-clock bound (40 ms stood here), which a loaded
    // machine can exceed without the batcher waiting at all.
    expect(backend.calls).toHaveLength(1);
    expect(backend.calls[0]!.inputs).toEqual(["a", "b", "c", "d"]);
    backend.finish(backend.calls[0]!);
    expect((await result).outputs).toEqual(["A", "B", "C", "D"]);
  });

  it("sends a partial batch when its oldest input has waited maxQueueDelayMs", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 30 }, backend.run);
    const started = performance.now();
    const result = batcher.submit(["a"], { deadline: far() });
    await sleep(10);
    expect(backend.calls).toHaveLength(0);
    await sleep(60);
    expect(backend.calls).toHaveLength(1);
    expect(backend.calls[0]!.at - started).toBeGreaterThanOrEqual(29);
    backend.finish(backend.calls[0]!);
    expect((await result).outputs).toEqual(["A"]);
  });

  it("grows batches while the workers are busy and keeps each request's order", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 0, maxBatchSize: 8 }, backend.run);
    const first = batcher.submit(["x"], { deadline: far() });
    await sleep(0);
    expect(backend.calls).toHaveLength(1); // the only worker is now busy
    const second = batcher.submit(["a", "b", "c"], { deadline: far() });
    const third = batcher.submit(["d", "e"], { deadline: far() });
    await sleep(5);
    expect(backend.calls).toHaveLength(1);
    backend.finish(backend.calls[0]!);
    await first;
    await sleep(0);
    expect(backend.calls[1]!.inputs).toEqual(["a", "b", "c", "d", "e"]);
    backend.finish(backend.calls[1]!);
    expect((await second).outputs).toEqual(["A", "B", "C"]);
    expect((await third).outputs).toEqual(["D", "E"]);
  });

  it("splits a large request across batches and reassembles it in order", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxBatchSize: 3, concurrency: 2 }, backend.run);
    const inputs = ["a", "b", "c", "d", "e", "f", "g"];
    const result = batcher.submit(inputs, { deadline: far() });
    await sleep(0);
    expect(backend.calls.map((c) => c.inputs)).toEqual([["a", "b", "c"], ["d", "e", "f"]]);
    backend.finish(backend.calls[1]!); // out of order on purpose
    backend.finish(backend.calls[0]!);
    await sleep(60);
    expect(backend.calls[2]!.inputs).toEqual(["g"]);
    backend.finish(backend.calls[2]!);
    expect((await result).outputs).toEqual(inputs.map((x) => x.toUpperCase()));
  });

  it("rejects with ERR_QUEUE_FULL and a Retry-After hint when the queue bound would be passed", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxBatchSize: 2, maxQueueSize: 3 }, backend.run);
    void batcher.submit(["a", "b"], { deadline: far() }); // dispatched at once: a full batch
    await sleep(0);
    void batcher.submit(["c", "d"], { deadline: far() }); // waits: the worker is busy
    const error = await batcher.submit(["e", "f"], { deadline: far() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServingError);
    expect((error as ServingError).code).toBe("ERR_QUEUE_FULL");
    expect((error as ServingError).status).toBe(429);
    expect((error as ServingError).retryAfter).toBeGreaterThanOrEqual(1);
    expect(batcher.depth).toBe(2);
  });

  it("fails a queued request at its deadline and takes its inputs out of the queue", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 0 }, backend.run);
    void batcher.submit(["busy"], { deadline: far() });
    await sleep(0);
    const late = batcher.submit(["a", "b"], { deadline: performance.now() + 20 });
    expect(batcher.depth).toBe(2);
    const error = await late.catch((e: unknown) => e);
    expect((error as ServingError).code).toBe("ERR_DEADLINE_EXCEEDED");
    expect(batcher.depth).toBe(0);
    backend.finish(backend.calls[0]!);
    await sleep(5);
    expect(backend.calls).toHaveLength(1); // the expired inputs were never sent
  });

  it("removes a cancelled request from the queue", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 0 }, backend.run);
    void batcher.submit(["busy"], { deadline: far() });
    await sleep(0);
    const controller = new AbortController();
    const cancelled = batcher.submit(["a"], { deadline: far(), signal: controller.signal });
    const kept = batcher.submit(["b"], { deadline: far() });
    controller.abort();
    expect(((await cancelled.catch((e: unknown) => e)) as ServingError).code).toBe("ERR_CLIENT_CLOSED");
    expect(batcher.depth).toBe(1);
    backend.finish(backend.calls[0]!);
    await sleep(5);
    expect(backend.calls[1]!.inputs).toEqual(["b"]);
    backend.finish(backend.calls[1]!);
    expect((await kept).outputs).toEqual(["B"]);
  });

  it("fails every request of a batch whose backend call fails, and keeps serving", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 0 }, backend.run);
    const a = batcher.submit(["a"], { deadline: far() });
    await sleep(0);
    backend.calls[0]!.reject(new ServingError("ERR_WORKER_FAILED", "worker died"));
    expect(((await a.catch((e: unknown) => e)) as ServingError).code).toBe("ERR_WORKER_FAILED");
    const b = batcher.submit(["b"], { deadline: far() });
    await sleep(0);
    backend.finish(backend.calls[1]!);
    expect((await b).outputs).toEqual(["B"]);
  });

  it("drain sends what is queued at once and refuses new work", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 10_000 }, backend.run);
    const queued = batcher.submit(["a"], { deadline: far() });
    const drained = batcher.drain();
    await sleep(0);
    expect(backend.calls).toHaveLength(1);
    backend.finish(backend.calls[0]!);
    await drained;
    expect((await queued).outputs).toEqual(["A"]);
    expect(((await batcher.submit(["b"], { deadline: far() }).catch((e: unknown) => e)) as ServingError).code).toBe("ERR_SHUTTING_DOWN");
  });

  it("regression: an infinite deadline never expires (setTimeout(Infinity) fires at once)", async () => {
    const backend = controlledBackend();
    const batcher = new DynamicBatcher({ ...settings, maxQueueDelayMs: 0 }, backend.run);
    void batcher.submit(["busy"], { deadline: far() });
    await sleep(0);
    const patient = batcher.submit(["a"], { deadline: Infinity });
    await sleep(20);
    expect(batcher.depth).toBe(1);
    backend.finish(backend.calls[0]!);
    await sleep(0);
    backend.finish(backend.calls[1]!);
    expect((await patient).outputs).toEqual(["A"]);
  });

  describe("priorities", () => {
    const lanes = { maxBatchSize: 4, maxQueueDelayMs: 0, maxQueueSize: 100, concurrency: 2 };

    /** Finishes every batch the backend is given until `work` settles. */
    async function drive<T>(backend: ReturnType<typeof controlledBackend>, work: Promise<T>): Promise<T> {
      let settled = false;
      void work.finally(() => (settled = true)).catch(() => undefined);
      const done = new Set<Call>();
      while (!settled) {
        await sleep(2);
        for (const call of backend.calls) {
          if (done.has(call)) continue;
          done.add(call);
          backend.finish(call);
        }
      }
      return work;
    }

    it("alone, dispatches background inputs in full batches on every worker, and a partial one after the fill wait", async () => {
      const backend = controlledBackend();
      const batcher = new DynamicBatcher(lanes, backend.run);
      const work = batcher.submit(["a", "b", "c", "d", "e", "f", "g", "h", "i"], { deadline: far(), priority: "background" });
      await sleep(0);
      expect(backend.calls.map((c) => c.inputs.length)).toEqual([4, 4]);
      backend.finish(backend.calls[0]!);
      await sleep(0);
      expect(backend.calls).toHaveLength(2);
      await sleep(30);
      expect(backend.calls.map((c) => c.inputs.length)).toEqual([4, 4, 1]);
      expect((await drive(backend, work)).outputs).toHaveLength(9);
    });

    it("serves a waiting interactive input before any queued background input", async () => {
      const backend = controlledBackend();
      const batcher = new DynamicBatcher({ ...lanes, concurrency: 1 }, backend.run);
      const background = batcher.submit(Array.from({ length: 12 }, (_, i) => `b${i}`), { deadline: far(), priority: "background" });
      await sleep(0);
      expect(backend.calls).toHaveLength(1);
      const interactive = batcher.submit(["x"], { deadline: far() });
      backend.finish(backend.calls[0]!);
      await sleep(0);
      expect(backend.calls[1]!.inputs).toEqual(["x"]);
      backend.finish(backend.calls[1]!);
      expect((await interactive).outputs).toEqual(["X"]);
      expect((await drive(backend, background)).outputs).toHaveLength(12);
    });

    it("shares while interactive traffic is recent: one small background batch at a time, a worker free for interactive inputs", async () => {
      const backend = controlledBackend();
      const batcher = new DynamicBatcher(lanes, backend.run);
      const first = batcher.submit(["x"], { deadline: far() });
      await sleep(0);
      backend.finish(backend.calls[0]!);
      await first;
      const background = batcher.submit(Array.from({ length: 8 }, (_, i) => `b${i}`), { deadline: far(), priority: "background" });
      await sleep(5);
      expect(backend.calls.slice(1).map((c) => c.inputs.length)).toEqual([1]);
      const next = batcher.submit(["y"], { deadline: far() });
      await sleep(0);
      expect(backend.calls[2]!.inputs).toEqual(["y"]);
      backend.finish(backend.calls[2]!);
      await next;
      expect((await drive(backend, background)).outputs).toHaveLength(8);
      // Sharing, every background batch held one input.
      expect(backend.calls.filter((c) => c.inputs[0]!.startsWith("b")).every((c) => c.inputs.length === 1)).toBe(true);
    });

    it("counts each lane against its own queue limit: a batch job cannot fill the interactive queue", async () => {
      const backend = controlledBackend();
      const batcher = new DynamicBatcher({ ...lanes, maxQueueSize: 8, concurrency: 1 }, backend.run);
      // Four go to the worker at once; eight more fill the background lane.
      const background = batcher.submit(Array.from({ length: 8 }, (_, i) => `b${i}`), { deadline: far(), priority: "background" });
      const more = batcher.submit(["c0", "c1", "c2", "c3"], { deadline: far(), priority: "background" });
      await expect(batcher.submit(["z"], { deadline: far(), priority: "background" })).rejects.toMatchObject({ code: "ERR_QUEUE_FULL" });
      const interactive = batcher.submit(["x", "y"], { deadline: far() });
      expect((await drive(backend, interactive)).outputs).toEqual(["X", "Y"]);
      expect(backend.calls[1]!.inputs).toEqual(["x", "y"]);
      expect((await drive(backend, Promise.all([background, more]))).map((r) => r.outputs.length)).toEqual([8, 4]);
    });
  });
});
