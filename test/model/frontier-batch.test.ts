import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

/**
 * `batch.frontierBatch`: a batch job's escalations go to the provider's own Batch API (the official SDK against a
 * loopback OpenAI stand-in with files and batches), at its discounted price, and the job completes when they return.
 */
let frontier: FakeFrontier;
let dir: string;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "frontier-batch-"));
});

afterAll(async () => {
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

const start = () =>
  startTestServer({
    models: { overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier),
    ledger: { path: join(dir, "ledger.sqlite") },
    cache: { enabled: false },
    batch: { filesDir: join(dir, "files"), frontierBatch: true, frontierBatchFlushMs: 50, frontierBatchPollMs: 50 },
  });

const lines = (n: number, prefix: string) =>
  `${Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `${prefix}-${i}`, method: "POST", url: "/v1/classify", body: { model: "email-spam", input: i % 5 === 0 ? `${UNSURE} (${prefix} ${i})` : `${SURE} (${i})` } })).join("\n")}\n`;

async function submit(client: OpenAI, text: string) {
  const file = await client.files.create({ file: await toFile(Buffer.from(text), "in.jsonl"), purpose: "batch" });
  return client.batches.create({ input_file_id: file.id, endpoint: "/v1/classify" as "/v1/chat/completions", completion_window: "24h" });
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const giveUp = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > giveUp) throw new Error(`not within ${ms} ms: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ended = (b: OpenAI.Batches.Batch) => ["completed", "failed", "expired", "cancelled"].includes(b.status);
const outputOf = async (client: OpenAI, batch: OpenAI.Batches.Batch) =>
  (await (await client.files.content(batch.output_file_id!)).text())
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: any } });

describe("escalations of a batch job through the provider's Batch API", () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it("sends them as one provider batch at half price; a failed provider line leaves the specialist's answer, flagged", async () => {
    frontier.reset();
    frontier.batchBehaviour = { kind: "complete", failEvery: 4 };
    frontier.pollsToEnd = 2;
    // The output's download fails past the SDK's own retries once: the next poll downloads it again.
    frontier.contentFailures = 3;
    server = await start();
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "local", maxRetries: 0 });
    const batch = await until(() => submit(client, lines(60, "a")).then((b) => client.batches.retrieve(b.id)), () => true).then((b) => until(() => client.batches.retrieve(b.id), ended));
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 60, completed: 60, failed: 0 });

    // No call one by one: 12 escalations in one provider batch (flushed together), answered from its output file.
    expect(frontier.seen.filter((s) => s.path.endsWith("/chat/completions"))).toHaveLength(0);
    expect([...frontier.batches.values()].map((b) => b.lines)).toEqual([12]);
    expect(frontier.contentFailures).toBe(0);
    const results = (await outputOf(client, batch)).map((l) => ({ id: l.custom_id, result: l.response.body.results[0] }));
    expect(results).toHaveLength(60);
    const escalated = results.filter((r) => r.result.escalated);
    expect(escalated).toHaveLength(12);
    const answered = escalated.filter((r) => r.result.served_by === "frontier");
    expect(answered).toHaveLength(9);
    for (const r of escalated.filter((e) => e.result.served_by !== "frontier")) {
      expect(r.result).toMatchObject({ served_by: "specialist", degraded: true, degraded_reason: "client_error" });
    }

    // The same input escalated interactively costs twice as much: the Batch API's discount, from the reported usage.
    const one = answered[0]!;
    const direct = await postJson(server, "/v1/classify", { model: "email-spam", input: `${UNSURE} (a ${one.id.slice(2)})` });
    const batchCost = one.result.frontier.cost_usd as number;
    expect(batchCost).toBeGreaterThan(0);
    expect(direct.json.results[0].served_by).toBe("frontier");
    expect(batchCost).toBeCloseTo(direct.json.results[0].frontier.cost_usd / 2, 12);
  }, 120_000);

  it("lets go of lines waiting on the provider when the server stops; after a restart the job answers every line once", async () => {
    frontier.reset();
    frontier.batchBehaviour = { kind: "complete" };
    frontier.pollsToEnd = 1_000_000; // the provider's batch does not end while the first server runs
    server ??= await start();
    let client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "local", maxRetries: 0 });
    const created = await submit(client, lines(40, "b"));
    const waiting = await until(async () => [...frontier.batches.values()], (b) => b.length > 0);
    const firstProviderBatch = waiting[0]!.id;
    // Everything not escalated is answered; the escalated lines wait for the provider.
    await until(() => client.batches.retrieve(created.id), (b) => (b.request_counts?.completed ?? 0) >= 32, 30_000);

    const stopping = Date.now();
    await server.close();
    // The stop did not wait for the provider's batch, and gave it up.
    expect(Date.now() - stopping).toBeLessThan(10_000);
    expect(frontier.batches.get(firstProviderBatch)!.status).toBe("cancelled");

    frontier.pollsToEnd = 2;
    server = await start();
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "local", maxRetries: 0 });
    const batch = await until(() => client.batches.retrieve(created.id), ended);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    const output = await outputOf(client, batch);
    expect(output.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `b-${i}`).sort());
    expect(output.filter((l) => l.response.body.results[0].served_by === "frontier")).toHaveLength(8);
  }, 120_000);
});
