import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChild, type ChildServer } from "../../bench/load/child-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { addVersion, waitFor } from "../helpers/model-versions.js";
import { metricValue, SURE } from "../helpers/server.js";

/**
 * Real server processes on one ledger file, restarted between steps: what an operator decided (a rollback, a gate
 * rejection, an unload, a hot add) is what the next process serves; and bad folders never stop a start.
 */
const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
/** Seven process starts: one worker each keeps them short. */
const ONE_WORKER = { batching: { workers: 1 } };
let dir: string;
let running: ChildServer | undefined;

async function serve(config: Record<string, unknown>): Promise<ChildServer> {
  const file = join(dir, "config.json");
  await writeFile(file, JSON.stringify({ server: { port: 0, host: "127.0.0.1" }, ...config }));
  running = await startChild(["--import", "tsx", CLI, "serve", "--config", file], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
  return running;
}

async function stop(): Promise<void> {
  await running?.stop();
  running = undefined;
}

const call = async (server: ChildServer, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${server.origin}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}) });
  return { status: response.status, json: (await response.json()) as any };
};
const models = async (server: ChildServer) => (await call(server, "GET", "/v1/models")).json.data as Array<Record<string, any>>;
const servedVersion = async (server: ChildServer) => (await call(server, "POST", "/v1/classify", { model: "email-spam", input: SURE, route: "specialist" })).json.version as string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "decisions-"));
});

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

describe("bad folders, in a real process", () => {
  it("starts with a broken manifest, a truncated model and a missing tokenizer in unserved versions and in other models, and lists each", async () => {
    const repository = join(dir, "isolation");
    await addVersion(repository, "1");
    await writeFile(join(await addVersion(repository, "7"), "model.json"), '{"name": "email-spam", ');
    const truncate = async (folder: string) => writeFile(join(folder, "model.onnx"), (await readFile(join(folder, "model.onnx"))).subarray(0, 4096));
    await truncate(await addVersion(repository, "5"));
    await unlink(join(await addVersion(repository, "6"), "tokenizer.json"));
    await writeFile(join(await addVersion(repository, "1", { name: "broken-manifest" }), "model.json"), "[]");
    await truncate(await addVersion(repository, "1", { name: "truncated" }));
    await unlink(join(await addVersion(repository, "1", { name: "no-tokenizer" }), "tokenizer.json"));

    for (const serveList of ["all", ["email-spam"]] as const) {
      const server = await serve({ models: { repository, serve: serveList, overrides: { "email-spam": ONE_WORKER } }, ledger: { path: join(dir, "isolation.sqlite") } });
      expect(await servedVersion(server)).toBe("1");
      expect((await fetch(`${server.origin}/readyz`)).status).toBe(200);
      const list = await models(server);
      const spam = list.find((m) => m.id === "email-spam")!;
      expect(spam).toMatchObject({ status: "ready", version: "1" });
      expect(Object.fromEntries(spam.unreadable.map((u: any) => [u.folder, u.code]))).toEqual({
        [join("email-spam", "5")]: "ERR_MODEL_LOAD_FAILED",
        [join("email-spam", "6")]: expect.stringMatching(/^ERR_/),
        [join("email-spam", "7")]: "ERR_MANIFEST_INVALID",
      });
      expect(spam.unreadable.find((u: any) => u.folder.endsWith("6")).message).toMatch(/tokenizer/i);
      if (serveList === "all") {
        for (const name of ["broken-manifest", "truncated", "no-tokenizer"]) {
          expect(list.find((m) => m.id === name), name).toMatchObject({ status: "failed", error: { code: expect.stringMatching(/^ERR_/), message: expect.any(String) } });
        }
        expect(server.output()).toMatch(/email-spam@6: failed to load; trying version 5/);
      }
      await stop();
    }
  }, 180_000);
});

describe("decisions that survive a restart, in real processes", () => {
  let repository: string;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    repository = join(dir, "decisions");
    const golden = join(dir, "golden.jsonl");
    const examples = await loadEmailCorpus({ limitPerGroup: 30 });
    await writeFile(golden, examples.map((e) => JSON.stringify({ text: e.text, label: e.label, category: e.category })).join("\n"));
    await addVersion(repository, "1");
    await addVersion(repository, "2");
    config = {
      models: { repository, serve: "all", watchIntervalMs: 200, overrides: { "email-spam": { ...ONE_WORKER, gate: { golden } } } },
      ledger: { path: join(dir, "decisions.sqlite") },
    };
  });

  it("a version the gate rejected is not served at the next start", async () => {
    let server = await serve(config);
    expect(await servedVersion(server)).toBe("2");
    await addVersion(repository, "3", { flipped: true });
    const rejected = async () => metricValue(await (await fetch(`${server.origin}/metrics`)).text(), "specialist_model_reloads_total", 'trigger="watch"', 'result="gate_failed"') ?? 0;
    await waitFor("the watcher's gate to reject version 3", async () => (await rejected()) === 1, 60_000);
    await stop();

    server = await serve(config);
    expect(await servedVersion(server)).toBe("2");
    expect(server.output()).toMatch(/email-spam@3: not served at start-up, rejected: gate_rejected of version 3 by watcher/);
  }, 120_000);

  it("a rollback is served at the next start; an unload lasts; a hot add lasts", async () => {
    let server = running!;
    const rollback = await call(server, "POST", "/admin/models/email-spam/reload", { version: "1", reason: "rollback drill" });
    expect(rollback).toMatchObject({ status: 200, json: { previous_version: "2", version: "1" } });
    await stop();

    server = await serve(config);
    expect(await servedVersion(server)).toBe("1");
    const history = (await call(server, "GET", "/admin/models/email-spam/history")).json;
    expect(history.start_up).toEqual({ version: "1", removed: false, rejected_versions: ["3"] });
    expect(history.decisions.map((d: any) => [d.action, d.version, d.actor, d.reason])).toEqual([
      ["reload", "1", "local", "rollback drill"],
      ["gate_rejected", "3", "watcher", expect.stringContaining("accuracy")],
    ]);
    expect((await call(server, "DELETE", "/admin/models/email-spam")).status).toBe(200);
    await stop();

    server = await serve(config);
    expect((await models(server)).map((m) => m.id)).toEqual([]);
    expect(server.output()).toMatch(/email-spam: not served, taken out of service \(unload by local/);
    // Loaded again with no version named: what start-up would choose, the highest the gate did not reject.
    const added = await call(server, "POST", "/admin/models/email-spam/load", {});
    expect(added).toMatchObject({ status: 200, json: { version: "2", gate: { passed: true, baseline: null } } });
    await stop();

    server = await serve(config);
    expect(await servedVersion(server)).toBe("2");
    expect((await call(server, "GET", "/admin/models/email-spam/history?limit=2")).json.decisions.map((d: any) => d.action)).toEqual(["load", "unload"]);
  }, 180_000);
});
