import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { addVersion, waitFor } from "../helpers/model-versions.js";
import { metricValue, postJson, startTestServer } from "../helpers/server.js";

let repository: string;
let golden: string;
let server: RunningServer;

const serving = async () => ((await fetch(`${server.url}/v1/models`).then((r) => r.json())) as any).data[0].version as string;
const reloads = async (trigger: string, result: string) =>
  metricValue(await (await fetch(`${server.url}/metrics`)).text(), "specialist_model_reloads_total", `trigger="${trigger}"`, `result="${result}"`) ?? 0;
const reload = (body: unknown) => postJson(server, "/admin/models/email-spam/reload", body);

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "gate-watch-"));
  golden = join(repository, "golden.jsonl");
  const examples = await loadEmailCorpus({ limitPerGroup: 30 });
  await writeFile(golden, examples.map((e) => JSON.stringify({ text: e.text, label: e.label, category: e.category })).join("\n"));
  await addVersion(repository, "1");
  server = await startTestServer({
    models: { repository, serve: ["email-spam"], watchIntervalMs: 100, overrides: { "email-spam": { gate: { golden, margin: 0.01 } } } },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("watching the repository, with the golden-file gate", () => {
  it("swaps in a new version folder once it is complete and passes the gate", async () => {
    expect(await serving()).toBe("1");
    await addVersion(repository, "2");
    await waitFor("version 2 to serve", async () => (await serving()) === "2");
    expect(await reloads("watch", "swapped")).toBe(1);
  });

  it("leaves a regressed version out, says why, and does not retry it until its files change", async () => {
    await addVersion(repository, "3", { flipped: true });
    await waitFor("the gate to reject version 3", async () => (await reloads("watch", "gate_failed")) === 1);
    expect(await serving()).toBe("2");
    await new Promise((r) => setTimeout(r, 600));
    expect(await reloads("watch", "gate_failed")).toBe(1);
    expect(await serving()).toBe("2");
  });

  it("admin reload: the gate rejects a regression with its numbers, `gate: false` skips it, and a passing reload reports the scores", async () => {
    const rejected = await reload({ version: "3" });
    expect(rejected.status).toBe(422);
    expect(rejected.json.error.code).toBe("ERR_RELOAD_REJECTED");
    expect(rejected.json.error.message).toMatch(/failed the gate on 150 golden examples \(margin 0\.01\): accuracy [01]\.\d+ → 0\.\d+/);
    expect(rejected.json.error.message).toContain("version 2 keeps serving");
    const failing = rejected.json.error.details.checks.filter((c: { passed: boolean }) => !c.passed).map((c: { metric: string }) => c.metric);
    expect(failing).toEqual(expect.arrayContaining(["accuracy", "macro-F1", "F1[spam]", "F1[ham]"]));
    expect(await serving()).toBe("2");

    const forced = await reload({ version: "3", gate: false });
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({ previous_version: "2", version: "3", gate: null });

    const back = await reload({ version: "2" });
    expect(back.status).toBe(200);
    expect(back.json.gate).toMatchObject({ passed: true, examples: 150, margin: 0.01 });
    expect(back.json.gate.candidate.accuracy).toBeGreaterThan(0.9);
    expect(back.json.gate.baseline.accuracy).toBeLessThan(0.1);
    expect(await serving()).toBe("2");
  });

  it("does not undo a rollback: only a version above every one present at the last decision is swapped in", async () => {
    await addVersion(repository, "4");
    await waitFor("version 4 to serve", async () => (await serving()) === "4");
    const swaps = await reloads("watch", "swapped");
    expect((await reload({ version: "2", reason: "rollback" })).status).toBe(200);
    // Long enough for the watcher to see version 4 on two scans and start loading it, were it allowed to.
    await new Promise((r) => setTimeout(r, 600));
    expect(await serving()).toBe("2");
    await addVersion(repository, "5");
    await waitFor("version 5 to serve", async () => (await serving()) === "5");
    expect(await reloads("watch", "swapped")).toBe(swaps + 1);
    expect((await reload({ version: "2" })).status).toBe(200);
  });

  it("refuses the reload when the golden file cannot be used, naming the problem", async () => {
    await writeFile(golden, `${JSON.stringify({ text: "hello", label: "phishing" })}\n`);
    const r = await reload({ version: "1" });
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ code: "ERR_RELOAD_REJECTED", message: expect.stringContaining("labels phishing are not the model's (ham, spam)") });
    expect(await serving()).toBe("2");
  });
});
