import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { startTestServer, SURE, UNSURE } from "../helpers/server.js";

/** The Batch API through the official openai client, unchanged: files.create, batches.create/retrieve/list/cancel, files.content. */
const KEYS = { alice: "sk-alice-batch-0123456789", bob: "sk-bob-batch-0123456789" };
let frontier: FakeFrontier;
let dir: string;
let server: RunningServer;
let alice: OpenAI;
let bob: OpenAI;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "batch-api-"));
  server = await startTestServer({
    models: { serve: ["email-spam", "email-spam-llama"], overrides: { "email-spam": { threshold: 0.9 } } },
    escalation: fakeEscalation(frontier),
    auth: { tenants: { alice: { keys: [hashApiKey(KEYS.alice)] }, bob: { keys: [hashApiKey(KEYS.bob)] } } },
    ledger: { path: join(dir, "ledger.sqlite") },
    // Few lines at a time, so the cancel test finds its job still running.
    batch: { filesDir: join(dir, "files"), linesInFlight: 8 },
  });
  alice = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
  bob = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.bob, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

const jsonl = (lines: unknown[]) => lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";

async function finished(client: OpenAI, id: string): Promise<OpenAI.Batches.Batch> {
  const giveUp = Date.now() + 90_000;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (["completed", "failed", "expired", "cancelled"].includes(batch.status)) return batch;
    if (Date.now() > giveUp) throw new Error(`batch ${id} still ${batch.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const parseLines = (text: string) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { custom_id: string | null; response: { status_code: number; body: any } | null; error: { code: string; line?: number } | null });

describe("the Batch API with the official openai client", () => {
  it("runs 420 classify lines (one malformed, one refused) and reports each by custom_id in the output or error file", async () => {
    const lines: unknown[] = Array.from({ length: 418 }, (_, i) => ({
      custom_id: `c-${i}`,
      method: "POST",
      url: "/v1/classify",
      body: { model: "email-spam", input: i % 10 === 0 ? `${UNSURE} (${i})` : `${SURE} (${i})` },
    }));
    lines.splice(200, 0, "{ this is not json");
    lines.push({ custom_id: "too-many", method: "POST", url: "/v1/classify", body: { model: "email-spam", input: "x", extra: true } });
    const file = await alice.files.create({ file: await toFile(Buffer.from(jsonl(lines)), "input.jsonl"), purpose: "batch" });
    expect(file).toMatchObject({ object: "file", purpose: "batch", filename: "input.jsonl", bytes: Buffer.byteLength(jsonl(lines)) });

    const created = await alice.batches.create({ input_file_id: file.id, endpoint: "/v1/classify" as "/v1/chat/completions", completion_window: "24h", metadata: { job: "nightly" } });
    expect(created).toMatchObject({ object: "batch", status: "validating", endpoint: "/v1/classify", metadata: { job: "nightly" } });
    const batch = await finished(alice, created.id);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 420, completed: 418, failed: 2 });

    const output = parseLines(await (await alice.files.content(batch.output_file_id!)).text());
    expect(output).toHaveLength(418);
    expect(new Set(output.map((l) => l.custom_id)).size).toBe(418);
    for (const line of output) expect(line.response).toMatchObject({ status_code: 200, body: { model: "email-spam", results: [expect.objectContaining({ label: expect.any(String) })] } });
    // Unsure inputs followed the model's policy: escalated to the frontier.
    const escalated = output.filter((l) => l.response!.body.results[0].served_by === "frontier");
    expect(escalated.length).toBe(42);
    expect(frontier.seen.length).toBeGreaterThanOrEqual(42);

    const errors = parseLines(await (await alice.files.content(batch.error_file_id!)).text());
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ custom_id: null, response: null, error: expect.objectContaining({ code: "invalid_json", line: 201 }) }),
        expect.objectContaining({ custom_id: "too-many", response: expect.objectContaining({ status_code: 400, body: { error: expect.objectContaining({ code: "ERR_INVALID_REQUEST" }) } }) }),
      ]),
    );
    const listed = await alice.batches.list({ limit: 5 });
    expect(listed.data.map((b) => b.id)).toContain(batch.id);
  });

  it("runs a chat completion line on a GGUF model", async () => {
    const line = { custom_id: "chat-1", method: "POST", url: "/v1/chat/completions", body: { model: "email-spam-llama", messages: [{ role: "user", content: "Say hello" }], max_tokens: 4, seed: 1 } };
    const file = await alice.files.create({ file: await toFile(Buffer.from(jsonl([line])), "chat.jsonl"), purpose: "batch" });
    const batch = await finished(alice, (await alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).id);
    expect(batch.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
    const [answer] = parseLines(await (await alice.files.content(batch.output_file_id!)).text());
    expect(answer).toMatchObject({ custom_id: "chat-1", response: { status_code: 200, body: { object: "chat.completion", choices: [expect.objectContaining({ message: expect.objectContaining({ role: "assistant" }) })] } } });
    expect(batch.error_file_id).toBeNull();
  });

  it("keeps each tenant's files and batches to itself, and refuses what OpenAI refuses", async () => {
    const file = await alice.files.create({ file: await toFile(Buffer.from(jsonl([])), "empty.jsonl"), purpose: "batch" });
    await expect(bob.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).rejects.toMatchObject({ status: 404 });
    await expect(alice.files.create({ file: await toFile(Buffer.from("{}\n"), "x.jsonl"), purpose: "fine-tune" })).rejects.toMatchObject({ status: 400 });
    await expect(alice.batches.create({ input_file_id: file.id, endpoint: "/v1/responses" as "/v1/chat/completions", completion_window: "24h" })).rejects.toMatchObject({ status: 400 });
    const empty = await finished(alice, (await alice.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).id);
    expect(empty).toMatchObject({ status: "completed", request_counts: { total: 0, completed: 0, failed: 0 } });
    await expect(alice.batches.cancel(empty.id)).rejects.toMatchObject({ status: 409 });
    await expect(alice.batches.retrieve("batch_nope")).rejects.toMatchObject({ status: 404 });
  });

  it("cancels a running batch: lines not yet run are not run", async () => {
    frontier.fallback = { kind: "answer", delayMs: 200 };
    try {
      const lines = Array.from({ length: 300 }, (_, i) => ({ custom_id: `u-${i}`, method: "POST", url: "/v1/classify", body: { model: "email-spam", input: `${UNSURE} [${i}]` } }));
      const file = await alice.files.create({ file: await toFile(Buffer.from(jsonl(lines)), "slow.jsonl"), purpose: "batch" });
      const created = await alice.batches.create({ input_file_id: file.id, endpoint: "/v1/classify" as "/v1/chat/completions", completion_window: "24h" });
      await new Promise((r) => setTimeout(r, 500));
      const cancelling = await alice.batches.cancel(created.id);
      expect(["cancelling", "cancelled"]).toContain(cancelling.status);
      const batch = await finished(alice, created.id);
      expect(batch.status).toBe("cancelled");
      expect(batch.request_counts!.completed).toBeGreaterThan(0);
      expect(batch.request_counts!.completed).toBeLessThan(300);
      const output = parseLines(await (await alice.files.content(batch.output_file_id!)).text());
      expect(output).toHaveLength(batch.request_counts!.completed);
    } finally {
      frontier.fallback = { kind: "answer" };
    }
  });
});
