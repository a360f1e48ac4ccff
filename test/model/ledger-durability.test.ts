import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { FakeFrontier } from "../helpers/fake-frontier.js";
import { MODELS_DIR } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
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

async function writeConfig(ledgerPath: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const config = join(dir, name);
  await writeFile(
    config,
    JSON.stringify({
      server: { port: 0, logLevel: "warn" },
      cache: { enabled: false },
      models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
      escalation: { defaultProvider: "fake", providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY" } } },
      ledger: { path: ledgerPath },
      ...extra,
    }),
  );
  return config;
}

const serve = (config: string) =>
  startChild(["--import", "tsx", CLI, "serve", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, {
    FAKE_FRONTIER_KEY: "sk-frontier-test",
    SPECIALIST_SERVER__LOG_LEVEL: "info",
  });

describe("ledger durability", () => {
  it("keeps every escalation answered before the server process is killed with SIGKILL", async () => {
    const ledgerPath = join(dir, "ledger.sqlite");
    child = await serve(await writeConfig(ledgerPath, "config.json", { ledger: { path: ledgerPath, storeInputs: true } }));
    const texts = Array.from({ length: 5 }, (_, i) => `Hi Bob, the meeting ${i} moved to 3pm tomorrow, see the agenda attached.`);
    for (const text of texts) {
      const response = await fetch(`${child.origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "email-spam", input: text }) });
      expect(((await response.json()) as any).results[0].served_by).toBe("frontier");
    }
    child.process.kill("SIGKILL");
    await once(child.process, "exit");

    const ledger = new Ledger(ledgerPath);
    try {
      const rows = (await ledger.listEscalations({ limit: 100 }));
      expect(rows.map((r) => r.inputText).sort()).toEqual([...texts].sort());
      expect(rows.every((r) => r.outcome === "answered" && r.costUsd > 0)).toBe(true);
    } finally {
      ledger.close();
    }
  });

  it("loses no frontier call when killed with SIGKILL during 50 concurrent escalations: every call is counted after restart", async () => {
    frontier.reset();
    // The frontier holds every call: the process dies with all 50 in flight (sent, maybe billed, never answered).
    frontier.fallback = { kind: "hang" };
    const ledgerPath = join(dir, "kill-ledger.sqlite");
    const config = await writeConfig(ledgerPath, "kill-config.json", { escalation: {
      deadlineMs: 60_000,
      defaultProvider: "fake",
      providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY", timeoutMs: 60_000 } },
    } });
    child = await serve(config);
    const requests = Array.from({ length: 50 }, (_, i) =>
      fetch(`${child!.origin}/v1/classify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "email-spam", input: `Hi Bob, the meeting ${i} moved to 3pm tomorrow, see the agenda attached.`, deadline_ms: 60_000 }),
      }).catch(() => undefined),
    );
    const waitUntil = Date.now() + 30_000;
    while (frontier.seen.length < 50 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    expect(frontier.seen).toHaveLength(50);
    child.process.kill("SIGKILL");
    await once(child.process, "exit");
    await Promise.all(requests);
    const received = frontier.seen.length;

    const before = new Ledger(ledgerPath);
    let reservedUsd: number;
    try {
      const rows = before.database.prepare("SELECT status, reserved_usd FROM frontier_calls").all() as Array<{ status: string; reserved_usd: number }>;
      expect(rows.length).toBeGreaterThanOrEqual(received);
      expect(rows.every((r) => r.status === "pending")).toBe(true);
      reservedUsd = rows.reduce((sum, r) => sum + r.reserved_usd, 0);
    } finally {
      before.close();
    }

    // The restarted server counts the calls a crash left unknown at their worst case, before it serves.
    frontier.fallback = { kind: "answer" };
    child = await serve(config);
    const status = (await (await fetch(`${child.origin}/admin/escalation`)).json()) as { tenants: Array<{ id: string; spent_usd: number; reserved_usd: number }> };
    const local = status.tenants.find((t) => t.id === "local")!;
    expect(local.reserved_usd).toBe(0);
    expect(local.spent_usd).toBeGreaterThanOrEqual(reservedUsd - 1e-9);
    expect(child.output()).toContain("their outcome is unknown");
    await child.stop();
    const after = new Ledger(ledgerPath);
    try {
      const statuses = after.database.prepare("SELECT status, COUNT(*) AS n FROM frontier_calls GROUP BY status").all();
      expect(statuses).toEqual([{ status: "unknown_outcome", n: 50 }]);
    } finally {
      after.close();
    }
  });
});
