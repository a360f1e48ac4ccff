import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cudaProviderMissing, openSession } from "../../server/backends/onnx/session.js";
import { loadConfig } from "../../server/config/load-config.js";
import { ServingError } from "../../server/errors/registry.js";
import { startServer } from "../../server/http/start-server.js";
import { MODELS_DIR, postJson } from "../helpers/server.js";

let repository: string;
const bundledModel = join(MODELS_DIR, "email-spam", "1", "model.onnx");

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "repo-"));
  await cp(join(MODELS_DIR, "email-spam", "1"), join(repository, "email-spam"), { recursive: true });
  await cp(join(MODELS_DIR, "email-spam", "1"), join(repository, "broken"), { recursive: true });
  const manifest = JSON.parse(await readFile(join(repository, "broken", "model.json"), "utf8"));
  await writeFile(join(repository, "broken", "model.json"), JSON.stringify({ ...manifest, name: "broken" }));
  await writeFile(join(repository, "broken", "model.onnx"), "this is not a protobuf");
});

afterAll(async () => {
  await rm(repository, { recursive: true, force: true });
});

const config = (models: Record<string, unknown>) =>
  loadConfig({ env: {}, overrides: { server: { port: 0, logLevel: "silent" }, models: { repository, ...models }, metrics: { defaultMetrics: false }, ledger: { path: ":memory:" } } });
const both = ["email-spam", "broken"];

describe("model loading at start-up", () => {
  it("stops start-up with an error naming the model that failed (exitOnLoadError, the default)", async () => {
    const error = (await startServer(config({ serve: both })).catch((e: unknown) => e)) as ServingError;
    expect(error).toBeInstanceOf(ServingError);
    expect(error.code).toBe("ERR_MODEL_LOAD_FAILED");
    expect(error.message).toContain("broken");
    expect(error.message).toMatch(/protobuf parsing failed/i);
  });

  it("with exitOnLoadError false, serves the others and reports the failure per model", async () => {
    const server = await startServer(config({ serve: both, exitOnLoadError: false }));
    try {
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ name: string; status: string; error?: { code: string } }> };
      expect(models.data.find((m) => m.name === "email-spam")?.status).toBe("ready");
      expect(models.data.find((m) => m.name === "broken")).toMatchObject({ status: "failed", error: { code: "ERR_MODEL_LOAD_FAILED" } });
      const r = await postJson(server, "/v1/classify", { model: "broken", input: "x" });
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe("ERR_MODEL_UNAVAILABLE");
      expect((await postJson(server, "/v1/classify", { model: "email-spam", input: "x" })).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "not_ready", models: { "email-spam": "ready", broken: "failed" } });
    } finally {
      await server.close();
    }
  });

  it("with serve: all, a model that fails to load is reported and the others serve, ready (it is not named)", async () => {
    const server = await startServer(config({}));
    try {
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ name: string; status: string; error?: { code: string } }> };
      expect(models.data.find((m) => m.name === "broken")).toMatchObject({ status: "failed", error: { code: "ERR_MODEL_LOAD_FAILED" } });
      expect((await postJson(server, "/v1/classify", { model: "email-spam", input: "x" })).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", models: { "email-spam": "ready", broken: "failed" } });
    } finally {
      await server.close();
    }
  });

  it("rejects a served name that is not in the repository", async () => {
    const error = (await startServer(config({ serve: ["nope"] })).catch((e: unknown) => e)) as ServingError;
    expect(error.code).toBe("ERR_CONFIG_INVALID");
    expect(error.message).toContain("models.serve: no model named 'nope'");
  });
});

describe("execution provider selection, consistent with what is installed", () => {
  it("auto takes CUDA when its provider is installed and loads, and otherwise falls back to CPU saying why", async () => {
    const opened = await openSession(bundledModel, { device: "auto", intraOpThreads: 1 });
    const missing = cudaProviderMissing();
    if (missing) expect(opened).toMatchObject({ provider: "cpu", fallbackReason: missing });
    else if (opened.provider === "cuda") expect(opened.fallbackReason).toBeUndefined();
    // Installed but not loadable here (no driver or device): the fallback names ORT's reason.
    else expect(opened.fallbackReason).toEqual(expect.any(String));
    await opened.session.release();
  });

  it("cpu uses CPU without trying CUDA", async () => {
    const opened = await openSession(bundledModel, { device: "cpu", intraOpThreads: 1 });
    expect(opened).toMatchObject({ provider: "cpu", fallbackReason: undefined });
    await opened.session.release();
  });

  it("an explicit cuda:1 that cannot load is ERR_DEVICE_UNAVAILABLE naming the device", async () => {
    const error = (await openSession(bundledModel, { device: "cuda:1", intraOpThreads: 1 }).catch((e: unknown) => e)) as ServingError;
    expect(error.code).toBe("ERR_DEVICE_UNAVAILABLE");
    expect(error.message).toContain("cuda:1");
  });

  it("an explicit cuda device stops server start-up with that error", async () => {
    const error = (await startServer(config({ serve: ["email-spam"], overrides: { "email-spam": { device: "cuda" } } })).catch((e: unknown) => e)) as ServingError;
    expect(error.code).toBe("ERR_DEVICE_UNAVAILABLE");
  });
});
