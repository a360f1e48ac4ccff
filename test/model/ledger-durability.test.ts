import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { FakeFrontier } from "../helpers/fake-frontier.js";
import { MODELS_DIR } from "../helpers/server.js";

const CLI = new URL("../../server/cli/main.ts", import.meta.url).pathname;
let frontier: FakeFrontier;
let dir: string;
let child: ChildServer | undefined;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "ledger-kill-"));
});

afterAll(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) await child.stop();
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("ledger durability", () => {
  it("keeps every escalation answered before the server process is killed with SIGKILL", async () => {
    const ledgerPath = join(dir, "ledger.sqlite");
    const config = join(dir, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        server: { port: 0, logLevel: "warn" },
        models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
        escalation: { defaultProvider: "fake", providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY" } } },
        ledger: { path: ledgerPath, storeInputs: true },
      }),
    );
    child = await startChild(["--import", "tsx", CLI, "serve", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, {
      FAKE_FRONTIER_KEY: "sk-frontier-test",
      SPECIALIST_SERVER__LOG_LEVEL: "info",
    });
    const texts = Array.from({ length: 5 }, (_, i) => `Hi Bob, the meeting ${i} moved to 3pm tomorrow, see the agenda attached.`);
    for (const text of texts) {
      const response = await fetch(`${child.origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "email-spam", input: text }) });
      expect((await response.json()).results[0].served_by).toBe("frontier");
    }
    child.process.kill("SIGKILL");
    await once(child.process, "exit");

    const ledger = new Ledger(ledgerPath);
    try {
      const rows = ledger.listEscalations({ limit: 100 });
      expect(rows.map((r) => r.inputText).sort()).toEqual([...texts].sort());
      expect(rows.every((r) => r.outcome === "answered" && r.costUsd > 0)).toBe(true);
    } finally {
      ledger.close();
    }
  });
});
