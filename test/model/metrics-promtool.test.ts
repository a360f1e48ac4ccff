import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";

// promtool comes from Debian's `prometheus` package, which .ci/run installs; without it locally the test is skipped.
const promtool = spawnSync("promtool", ["--version"]).status === 0;
if (!promtool && process.env.CI) throw new Error("promtool is missing: .ci/run must install Debian's prometheus package");

let frontier: FakeFrontier;
let server: RunningServer;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  server = await startTestServer({
    models: { serve: ["email-spam", "email-spam-llama"], overrides: { "email-spam": { threshold: 0.9, escalation: { shadowRate: 1 } } } },
    escalation: fakeEscalation(frontier),
  });
  // Every family should have samples: classify, escalate, shadow, generate.
  await postJson(server, "/v1/classify", { model: "email-spam", input: [SURE, UNSURE] });
  await postJson(server, "/v1/classify", { model: "email-spam-llama", input: SURE });
  await postJson(server, "/v1/completions", { model: "email-spam-llama", prompt: "Hi", max_tokens: 2 });
  await new Promise((r) => setTimeout(r, 200));
});

afterAll(async () => {
  await server?.close();
  await frontier?.stop();
});

describe.runIf(promtool)("/metrics", () => {
  it("passes promtool check metrics (names, help, types, units, no lint problems)", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
