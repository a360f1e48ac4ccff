import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { FakeFrontier } from "../helpers/fake-frontier.js";
import { MODELS_DIR, UNSURE } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const LINES = 1_500;
let frontier: FakeFrontier;
let dir: string;
let child: ChildServer | undefined;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "batch-resume-"));
});

afterAll(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) await child.stop();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("a batch job across a crash", () => {
  it("killed with SIGKILL mid-batch, then restarted, completes with every line answered exactly once", async () => {
    // Every line escalates to a frontier that takes 20 ms: the job runs for seconds, long enough to be killed mid-way.
    frontier.fallback = { kind: "answer", delayMs: 20 };
    const config = join(dir, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        server: { port: 0, logLevel: "warn" },
        cache: { enabled: false },
        models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
        escalation: { defaultProvider: "fake", providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY" } } },
        auth: { open: { escalationsPerMinute: 100_000 } },
        ledger: { path: join(dir, "ledger.sqlite") },
        batch: { filesDir: join(dir, "files"), linesInFlight: 16 },
      }),
    );
    const serve = () => startChild(["--import", "tsx", CLI, "serve", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { FAKE_FRONTIER_KEY: "sk-frontier-test", SPECIALIST_SERVER__LOG_LEVEL: "info" });
    child = await serve();
    let client = new OpenAI({ baseURL: `${child.origin}/v1`, apiKey: "local", maxRetries: 0 });
    const lines = Array.from({ length: LINES }, (_, i) => JSON.stringify({ custom_id: `line-${i}`, method: "POST", url: "/v1/classify", body: { model: "email-spam", input: `${UNSURE} #${i}` } }));
    const file = await client.files.create({ file: await toFile(Buffer.from(`${lines.join("\n")}\n`), "input.jsonl"), purpose: "batch" });
    const { id } = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/classify" as "/v1/chat/completions", completion_window: "24h" });

    const giveUp = Date.now() + 60_000;
    let progress = 0;
    while (progress < LINES / 4 && Date.now() < giveUp) {
      await new Promise((r) => setTimeout(r, 50));
      progress = (await client.batches.retrieve(id)).request_counts?.completed ?? 0;
    }
    expect(progress).toBeGreaterThanOrEqual(LINES / 4);
    child.process.kill("SIGKILL");
    await once(child.process, "exit");

    child = await serve();
    client = new OpenAI({ baseURL: `${child.origin}/v1`, apiKey: "local", maxRetries: 0 });
    let batch = await client.batches.retrieve(id);
    while (batch.status !== "completed" && Date.now() < giveUp + 60_000) {
      await new Promise((r) => setTimeout(r, 100));
      batch = await client.batches.retrieve(id);
    }
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    const output = (await (await client.files.content(batch.output_file_id!)).text()).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    const ids = output.map((l) => l.custom_id);
    expect(ids).toHaveLength(LINES);
    expect(new Set(ids).size).toBe(LINES);
    expect(output.every((l) => l.response.status_code === 200)).toBe(true);
    expect(batch.error_file_id).toBeNull();
  });
});
