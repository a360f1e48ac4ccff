import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, request as httpRequest } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { FakeFrontier } from "../helpers/fake-frontier.js";
import { MODELS_DIR, SURE, UNSURE } from "../helpers/server.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const FRONTIER_TIMEOUT_MS = 2_000;
let frontier: FakeFrontier;
let dir: string;
let child: ChildServer | undefined;

/** A GET over a keep-alive agent, returning the socket it used so the test can watch the server close it. */
function getKeepAlive(agent: Agent, url: string): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.once("end", () => resolve({ status: res.statusCode!, socket: req.socket as Socket }));
    });
    req.once("error", reject);
    req.end();
  });
}

const classify = (origin: string, input: string) =>
  fetch(`${origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "email-spam", input }) });

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "shutdown-"));
});

afterAll(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("graceful shutdown on SIGTERM", () => {
  it("turns readiness off, refuses new work with 503, finishes the request held by a hanging frontier, closes keep-alive connections, flushes the ledger and exits 0", async () => {
    const ledgerPath = join(dir, "ledger.sqlite");
    const config = join(dir, "config.json");
    await writeFile(
      config,
      JSON.stringify({
        server: { port: 0, logLevel: "warn", shutdownGraceMs: 8_000 },
        models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9 } } },
        escalation: {
          defaultProvider: "fake",
          providers: { fake: { kind: "openai", model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: "FAKE_FRONTIER_KEY", timeoutMs: FRONTIER_TIMEOUT_MS, maxRetries: 0 } },
        },
        ledger: { path: ledgerPath, storeInputs: true },
      }),
    );
    child = await startChild(["--import", "tsx", CLI, "serve", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, {
      FAKE_FRONTIER_KEY: "sk-frontier-test",
      SPECIALIST_SERVER__LOG_LEVEL: "info",
    });
    const origin = child.origin;
    const exited = once(child.process, "exit");

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const warm = await getKeepAlive(agent, `${origin}/readyz`);
    expect(warm.status).toBe(200);
    const keepAliveClosed = once(warm.socket, "close");

    frontier.fallback = { kind: "hang" };
    const held = classify(origin, UNSURE);
    while (frontier.seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    const signalled = performance.now();
    child.process.kill("SIGTERM");

    // The signal arrives asynchronously: poll until readiness turns off.
    let ready: Response;
    do ready = await fetch(`${origin}/readyz`);
    while (ready.status === 200);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "shutting_down" });

    const refused = await classify(origin, SURE);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("connection")).toBe("close");
    expect(((await refused.json()) as any).error.code).toBe("ERR_SHUTTING_DOWN");

    // The request the hanging frontier held ends with the specialist's answer, flagged, at the frontier timeout.
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as any).results[0]).toMatchObject({ served_by: "specialist", escalated: true, degraded: true });

    await keepAliveClosed;
    const [code] = await exited;
    expect(code).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(FRONTIER_TIMEOUT_MS + 4_000);
    agent.destroy();

    const ledger = new Ledger(ledgerPath);
    try {
      const rows = (await ledger.listEscalations({ limit: 10 }));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ inputText: UNSURE, outcome: "degraded" });
    } finally {
      ledger.close();
    }
  });
});
