import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { MODELS_DIR, startTestServer, UNSURE } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
let frontier: FakeFrontier;
let dir: string;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "batch-cli-"));
});

afterAll(async () => {
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

function batchCommand(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "batch", ...args, "--no-progress"], { env: { ...process.env, FAKE_FRONTIER_KEY: "sk-frontier-test" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c));
  child.stderr.on("data", (c: Buffer) => (output += c));
  return { child, output: () => output, exited: once(child, "exit").then(([code]) => code as number | null) };
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `q-${i}`, method: "POST", url: "/v1/classify", body: { model: "email-spam", input: `${UNSURE} ${i}` } }));
const answers = async (path: string) => (await readFile(path, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: any } });

describe("specialist batch", () => {
  it("runs a file locally; killed with SIGKILL and run again, it answers every line exactly once", async () => {
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    await writeFile(input, `${lines(600).join("\n")}\n`);
    const config = join(dir, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
        cache: { enabled: false },
        escalation: fakeEscalation(frontier),
        auth: { open: { escalationsPerMinute: 100_000 } },
        ledger: { path: join(dir, "ledger.sqlite") },
        batch: { linesInFlight: 8 },
      }),
    );
    // Each line escalates to a frontier that takes 20 ms: about 400 lines a second at 8 in flight.
    frontier.fallback = { kind: "answer", delayMs: 20 };
    const first = batchCommand([input, "-o", output, "--config", config]);
    const giveUp = Date.now() + 60_000;
    let written = 0;
    while (written < 100 && Date.now() < giveUp) {
      await new Promise((r) => setTimeout(r, 50));
      written = (await readFile(output, "utf8").catch(() => "")).split("\n").length - 1;
    }
    expect(written).toBeGreaterThanOrEqual(100);
    first.child.kill("SIGKILL");
    await first.exited;

    const second = batchCommand([input, "-o", output, "--config", config]);
    expect(await second.exited).toBe(0);
    expect(second.output()).toMatch(/batch: 600 answered, 0 failed/);
    const got = await answers(output);
    expect(got).toHaveLength(600);
    expect(new Set(got.map((a) => a.custom_id)).size).toBe(600);
    expect(got.every((a) => a.response.status_code === 200 && a.response.body.results[0].served_by === "frontier")).toBe(true);
  });

  it("runs the same file on a server's Batch API with --url", async () => {
    frontier.fallback = { kind: "answer" };
    let server: RunningServer | undefined;
    try {
      server = await startTestServer({ models: { overrides: { "email-spam": { threshold: 0.9 } } }, escalation: fakeEscalation(frontier), batch: { filesDir: join(dir, "server-files") } });
      const input = join(dir, "remote-in.jsonl");
      const output = join(dir, "remote-out.jsonl");
      await writeFile(input, `${lines(50).join("\n")}\nnot json\n`);
      const run = batchCommand([input, "-o", output, "--url", server.url]);
      expect(await run.exited).toBe(0);
      expect(run.output()).toMatch(/batch: 50 answered, 1 failed/);
      const got = await answers(output);
      expect(new Set(got.map((a) => a.custom_id)).size).toBe(50);
      expect(got[0]!.response.body).toMatchObject({ model: "email-spam", results: [expect.objectContaining({ served_by: "frontier" })] });
      // Everything answered: a second run uploads nothing.
      const again = batchCommand([input, "-o", output, "--url", server.url]);
      expect(await again.exited).toBe(0);
      expect((await answers(output)).length).toBe(50);
    } finally {
      await server?.close();
    }
  });
});
