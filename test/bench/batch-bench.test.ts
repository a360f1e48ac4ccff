import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBatchBench } from "../../bench/batch/run-batch-bench.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { startTestServer, SURE, UNSURE } from "../helpers/server.js";

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "batch-bench-"));
  server = await startTestServer({ cache: { enabled: false }, batch: { filesDir: join(dir, "files") } });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("bench batch", () => {
  it("measures interactive and batch throughput in alternated rounds, and half-load windows with and without a batch", async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `${i % 2 ? SURE : UNSURE} ${i}`);
    const result = await runBatchBench({ origin: server.url, model: "email-spam", texts, clients: 8, seconds: 1, rounds: 1 });
    expect(result.interactiveRuns).toHaveLength(1);
    expect(result.batchRuns[0]).toMatchObject({ lines: 300, completed: 300, failed: 0 });
    expect(result.throughputRatio).toBeGreaterThan(0);
    expect(result.windows.map((w) => w.batchRunning)).toEqual([false, true]);
    expect(result.windows.every((w) => w.load.errors === 0)).toBe(true);
    expect(result.windows[1]!.batchLinesAnswered).toBeGreaterThan(0);
  });
});
