import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadConfig } from "../../server/config/load-config.js";
import { ServingMetrics } from "../../server/metrics/serving-metrics.js";
import { ModelRegistry } from "../../server/models/model-registry.js";
import { addVersion } from "../helpers/model-versions.js";
import { metricValue, MODELS_DIR, postJson, startTestServer, SURE } from "../helpers/server.js";

const manifestOf = async (dir: string) => JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as Record<string, unknown>;

/**
 * One bad folder never takes the others down: a broken model.json in an unserved version of a served model, and
 * another model whose model.json does not validate. Regression: either stopped the whole server at start-up.
 */
let repo: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "isolation-"));
  await cp(join(MODELS_DIR, "email-spam", "1"), join(repo, "email-spam", "1"), { recursive: true });
  await mkdir(join(repo, "email-spam", "2"));
  await writeFile(join(repo, "email-spam", "2", "model.json"), '{ "name": "email-spam", "version": "2", ');
  await mkdir(join(repo, "other"));
  await writeFile(join(repo, "other", "model.json"), JSON.stringify({ name: "other", format: "onnx" }));
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await rm(repo, { recursive: true, force: true });
});

const start = async (serve: "all" | string[], exitOnLoadError = true, watchIntervalMs = 0) => {
  const server = await startTestServer({ models: { repository: repo, serve, exitOnLoadError, watchIntervalMs } });
  servers.push(server);
  return server;
};

describe("a repository with broken folders", () => {
  it("serves the valid version and the other models, and reports each broken folder", async () => {
    const server = await start("all");
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<Record<string, any>> };
    const spam = models.data.find((m) => m.id === "email-spam")!;
    expect(spam).toMatchObject({ status: "ready", version: "1", unreadable: [{ folder: join("email-spam", "2"), code: expect.any(String) }] });
    const other = models.data.find((m) => m.id === "other")!;
    expect(other).toMatchObject({ status: "failed", error: { code: expect.stringMatching(/^ERR_/), message: expect.stringContaining("other") } });
    expect((await fetch(`${server.url}/v1/models/other`)).status).toBe(200);

    const answer = await postJson(server, "/v1/classify", { model: "email-spam", input: SURE });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ version: "1", results: [{ label: "spam" }] });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_model_load_failures_total", 'model="other"')).toBe(1);
    expect(metricValue(metrics, "specialist_model_load_failures_total", 'model="email-spam"')).toBe(1);
    // Regression: a reload answered 200 without a word about the model's broken folder.
    const reloaded = await postJson(server, "/admin/models/email-spam/reload", {});
    expect(reloaded.status).toBe(200);
    expect(reloaded.json.unreadable).toEqual([{ folder: join("email-spam", "2"), code: "ERR_MANIFEST_INVALID", message: expect.stringContaining("model.json") }]);
  });

  it("stops start-up for a served model with no version that loads only when exitOnLoadError says so", async () => {
    await expect(start(["email-spam", "other"])).rejects.toThrow(/'other' has no version that loads: other: /);
    const server = await start(["email-spam", "other"], false);
    const answer = await postJson(server, "/v1/classify", { model: "email-spam", input: SURE });
    expect(answer.status).toBe(200);
    const other = await (await fetch(`${server.url}/v1/models/other`)).json();
    expect(other).toMatchObject({ status: "failed" });
  });

  it("keeps the list current while watching: a broken folder that appears is listed, and leaves the list when removed", async () => {
    const server = await start("all", true, 100);
    const listed = async () => ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string; status: string }> }).data.map((m) => `${m.id}:${m.status}`);
    const until = async (check: (ids: string[]) => boolean) => {
      for (const giveUp = Date.now() + 10_000; Date.now() < giveUp; await new Promise((r) => setTimeout(r, 50))) if (check(await listed())) return;
      throw new Error(`not within 10 s: ${(await listed()).join(", ")}`);
    };
    await mkdir(join(repo, "third"));
    await writeFile(join(repo, "third", "model.json"), "[]");
    await until((ids) => ids.includes("third:failed"));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_model_load_failures_total", 'model="third"')).toBe(1);
    await rm(join(repo, "third"), { recursive: true });
    await until((ids) => !ids.some((id) => id.startsWith("third")));
    expect(await listed()).toEqual(expect.arrayContaining(["email-spam:ready", "other:failed"]));
  });
});

describe("the repository layout", () => {
  it("serves a flat folder with a deprecation warning, and refuses a flat folder beside versions and a misnamed version, naming both", async () => {
    const root = await mkdtemp(join(tmpdir(), "layout-"));
    try {
      await addVersion(root, "1");
      await cp(join(MODELS_DIR, "email-spam", "1"), join(root, "legacy"), { recursive: true });
      await writeFile(join(root, "legacy", "model.json"), JSON.stringify({ ...(await manifestOf(join(root, "legacy"))), name: "legacy" }));
      await addVersion(root, "2", { name: "mixed" });
      await cp(join(root, "mixed", "2", "model.json"), join(root, "mixed", "model.json"));
      const misnamed = await addVersion(root, "3", { name: "misnamed" });
      await writeFile(join(misnamed, "model.json"), JSON.stringify({ ...(await manifestOf(misnamed)), version: "1" }));

      const lines: string[] = [];
      const config = loadConfig({ env: {}, overrides: { models: { repository: root }, ledger: { path: ":memory:" } } });
      const registry = await ModelRegistry.load(config, new ServingMetrics({ defaultMetrics: false }), (level, message) => lines.push(`${level}: ${message}`));
      try {
        expect(registry.list().map((s) => `${s.manifest.name}@${s.manifest.version}:${s.status}`).sort()).toEqual(["email-spam@1:ready", "legacy@1:ready"]);
        expect(lines).toContain(`warn: legacy: a flat model folder (deprecated): its files belong in ${join("legacy", "<version>")}/, e.g. ${join("legacy", "1")}/`);
        const unreadable = Object.fromEntries(registry.unreadableFolders().map((bad) => [bad.folder, bad.error.message]));
        expect(unreadable["mixed"]).toContain(`${join("mixed", "model.json")} beside version folders ${join("mixed", "2")}`);
        expect(unreadable[join("misnamed", "3")]).toContain("version '1' in the folder of version '3'");
      } finally {
        await registry.dispose();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
