import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { postJson, startTestServer, SURE, UNSURE } from "../helpers/server.js";
import { addVersion as addModelVersion, type VersionOptions } from "../helpers/model-versions.js";

const KEYS = { admin: "sk-admin-0123456789", user: "sk-user-0123456789" };
const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
const tenants = { admin: { keys: [hashApiKey(KEYS.admin)], role: "admin" as const }, user: { keys: [hashApiKey(KEYS.user)] } };
let repository: string;
let server: RunningServer;

const addVersion = (version: string, options: VersionOptions = {}) => addModelVersion(repository, version, options);

const classify = (input: string | string[]) => postJson(server, "/v1/classify", { model: "email-spam", input }, auth(KEYS.user));
const reload = (body: unknown, key = KEYS.admin) => postJson(server, "/admin/models/email-spam/reload", body, auth(key));

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "versions-"));
  await addVersion("1");
  server = await startTestServer({ models: { repository, serve: ["email-spam"] }, auth: { tenants } });
});

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("model versions and reload", () => {
  it("swaps in a new version without refusing a request: in-flight ones finish on the version they started on", async () => {
    expect((await classify(SURE)).json.version).toBe("1");
    await addVersion("2");
    // Eight clients send without pause from before the reload until after it: none may see an error.
    let stop = false;
    const seen: Array<{ status: number; version: string | undefined }> = [];
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const r = await classify(Array.from({ length: 8 }, (_, k) => `${(i + c) % 2 ? SURE : UNSURE} ${k}`));
        seen.push({ status: r.status, version: r.json.version });
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 100));
    const swapped = await reload({});
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(clients);
    expect(swapped.status).toBe(200);
    expect(swapped.json).toMatchObject({ model: "email-spam", previous_version: "1", version: "2" });
    expect(seen.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(seen.map((r) => r.version))).toEqual(new Set(["1", "2"]));
    expect((await classify(SURE)).json.version).toBe("2");
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    const models = await fetch(`${server.url}/v1/models`, auth(KEYS.user)).then((r) => r.json() as Promise<any>);
    expect(models.data.find((m: { name: string }) => m.name === "email-spam").version).toBe("2");
  });

  it("keeps the current version serving when the new one fails to load, or does not exist", async () => {
    await addVersion("3", { corrupt: true });
    const broken = await reload({ version: "3" });
    expect(broken.status).toBe(422);
    expect(broken.json.error.code).toBe("ERR_RELOAD_FAILED");
    expect(broken.json.error.message).toContain("version 2 keeps serving");
    const missing = await reload({ version: "9" });
    expect(missing.status).toBe(422);
    expect(missing.json.error.message).toContain("found: 1, 2, 3");
    const after = await classify(SURE);
    expect(after.status).toBe(200);
    expect(after.json.version).toBe("2");
  });

  it("lets only admins reload, one reload of a model at a time", async () => {
    expect((await reload({}, KEYS.user)).status).toBe(403);
    const [first, second] = await Promise.all([reload({ version: "1" }), reload({ version: "2" })]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect([first, second].find((r) => r.status === 409)!.json.error.code).toBe("ERR_RELOAD_IN_PROGRESS");
  });

  it("refuses to insist on a gate the model does not have, naming the setting", async () => {
    const r = await reload({ version: "2", gate: true });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "ERR_INVALID_REQUEST", message: expect.stringContaining("models.overrides.email-spam.gate.golden") });
  });

  it("serves the pinned version at start-up, else the highest", async () => {
    const pinned = await startTestServer({ models: { repository, serve: ["email-spam"], overrides: { "email-spam": { version: "1" } } } });
    try {
      expect((await postJson(pinned, "/v1/classify", { model: "email-spam", input: SURE })).json.version).toBe("1");
    } finally {
      await pinned.close();
    }
    await rm(join(repository, "email-spam", "3"), { recursive: true });
    const latest = await startTestServer({ models: { repository, serve: ["email-spam"] } });
    try {
      expect((await postJson(latest, "/v1/classify", { model: "email-spam", input: SURE })).json.version).toBe("2");
    } finally {
      await latest.close();
    }
  });
});
