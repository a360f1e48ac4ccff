import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUZZ_KINDS } from "../../bench/fuzz/fuzz-requests.js";
import { runFuzz, type FuzzSummary } from "../../bench/fuzz/run-fuzz.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { postJson, startTestServer, SURE } from "../helpers/server.js";

const BODY_LIMIT = 256 * 1024;
let server: RunningServer;
let summary: FuzzSummary;

// RSS swings by hundreds of MiB with when the collector runs after megabyte bodies; the live heap after a full
// collection is what a leak would grow.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const liveMib = async () => {
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return (heapUsed + external) / 2 ** 20;
};

beforeAll(async () => {
  server = await startTestServer({
    server: { bodyLimitBytes: BODY_LIMIT },
    models: { serve: ["email-spam", "email-spam-llama"] },
  });
  summary = await runFuzz({
    origin: server.url,
    seed: 20261123,
    requests: 3_000,
    concurrency: 8,
    target: { classifier: "email-spam", generator: "email-spam-llama", bodyLimitBytes: BODY_LIMIT },
    memoryMib: liveMib,
    sampleEvery: 250,
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
});

describe("fuzz: 3,000 malformed requests from a fixed seed", () => {
  it("never answers 5xx, and every error carries a stable code and a message", () => {
    expect(summary.failures).toEqual([]);
    expect(summary.failureCount).toBe(0);
    expect(summary.requests + summary.notSent).toBe(3_000);
  });

  it("covers every kind of damage, and most of it is refused with a 4xx", () => {
    expect(Object.keys(summary.byKind).sort()).toEqual([...FUZZ_KINDS].sort());
    const refused = Object.entries(summary.statuses).filter(([s]) => Number(s) >= 400).reduce((n, [, c]) => n + c, 0);
    expect(refused / summary.requests).toBeGreaterThan(0.8);
    // An oversized body gets 413, or (allowed) its connection is closed while the client still writes it.
    const oversized = summary.byKind.oversized!;
    expect(oversized.statuses["413"]).toBeGreaterThan(0);
    expect((oversized.statuses["413"] ?? 0) + (oversized.statuses["0"] ?? 0)).toBe(oversized.requests);
  });

  it("keeps serving, with memory steady", async () => {
    const answer = await postJson(server, "/v1/classify", { model: "email-spam", input: SURE });
    expect(answer.status).toBe(200);
    expect(answer.json.results[0].label).toBe("spam");
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    // From the second sample (after warm-up allocations) to the last: no steady climb of the live heap.
    const first = summary.memory[1]!.mib;
    const last = summary.memory.at(-1)!.mib;
    expect(last - first, JSON.stringify(summary.memory)).toBeLessThan(first * 0.1);
  });
});
