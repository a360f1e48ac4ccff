import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { metricValue, MODELS_DIR, postJson, startTestServer, SURE } from "../helpers/server.js";

/**
 * One bad folder never takes the others down: a broken model.json in an unserved version of a served model, and
 * another model whose model.json does not validate. Regression: either stopped the whole server at start-up.
 */
let repo: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "isolation-"));
  await cp(join(MODELS_DIR, "email-spam"), join(repo, "email-spam", "1"), { recursive: true });
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
