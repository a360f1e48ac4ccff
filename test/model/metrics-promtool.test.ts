import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
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

describe("Grafana dashboard", () => {
  it("queries only metric families and labels the server exports", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = JSON.parse(readFileSync(new URL("../../server/metrics/dashboards/grafana-specialist-serve.json", import.meta.url), "utf8"));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      const labels = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((l) => l.trim())).filter((l) => l !== "le");
      for (const [series] of expr.matchAll(/specialist_[a-z_]+/g)) {
        const family = series.replace(/_(bucket|sum|count)$/, "");
        expect(families, `${family} in: ${expr}`).toContain(family);
        const samples = text.split("\n").filter((l) => l.startsWith(`${series}{`));
        for (const label of labels) if (samples.length > 0) expect(samples.some((l) => l.includes(`${label}="`)), `${label} on ${series}`).toBe(true);
      }
    }
  });
});

describe.runIf(promtool)("/metrics", () => {
  it("passes promtool check metrics (names, help, types, units, no lint problems)", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});

describe.runIf(promtool)("alert rules (deploy/prometheus)", () => {
  it("are valid, and the drift alert fires after half an hour above 0.25 and not before", () => {
    const dir = new URL("../../deploy/prometheus/", import.meta.url).pathname;
    const check = spawnSync("promtool", ["check", "rules", "alerts.yml"], { cwd: dir, encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const unit = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir, encoding: "utf8" });
    expect(unit.status, unit.stdout + unit.stderr).toBe(0);
  });
});
