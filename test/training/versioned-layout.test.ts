import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSpecialistCli } from "../../bench/flywheel/specialist-cli.js";
import { writeLabelledJsonl } from "../../bench/flywheel/labelled-jsonl.js";
import { runCompare } from "../../bench/compare/run-compare.js";
import { inProcessServers } from "../../bench/compare/server-starters.js";
import { DEFAULT_COSTS } from "../../bench/compare/cost-model.js";
import { findModelVersion } from "../../server/models/repository.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { postJson, startTestServer, SURE } from "../helpers/server.js";

/** One layout from training to serving: `train` → `eval` → `reload` → `bench compare` on version folders, with no hand moves. */
const CLI = ["--import", "tsx", fileURLToPath(new URL("../../cli/main.ts", import.meta.url))];
const PROMPT = fileURLToPath(new URL("../../training/prompts/email-spam.txt", import.meta.url));
let dir: string;
let repository: string;
let data: string;
let server: RunningServer | undefined;

const specialist = (...args: string[]) => runSpecialistCli(CLI, args);
const train = (...extra: string[]) => specialist("train", "--name", "tiny", "--repository", repository, "--data", data, "--frontier-prompt", PROMPT, "--vocabulary", "2000", "--buckets", "2048", "--no-progress", ...extra);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "layout-"));
  repository = join(dir, "models");
  data = join(dir, "data.jsonl");
  await writeLabelledJsonl(data, await loadEmailCorpus({ limitPerGroup: 40 }));
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("one version layout", () => {
  it("train writes the next version folder each time, and never over one", async () => {
    for (const version of ["1", "2"]) {
      const run = await train();
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain(join(repository, "tiny", version));
    }
    expect((await readdir(join(repository, "tiny"))).sort()).toEqual(["1", "2"]);
    expect((await findModelVersion(repository, "tiny")).manifest.version).toBe("2");
    const again = await train("--version", "2");
    expect(again.code).not.toBe(0);
    expect(again.output).toContain(`${join(repository, "tiny", "2")} already holds a model`);
  }, 120_000);

  it("train refuses to write beside a flat folder and says how to move it", async () => {
    await mkdir(join(repository, "flat"), { recursive: true });
    await writeFile(join(repository, "flat", "model.json"), "{}");
    const run = await specialist("train", "--name", "flat", "--repository", repository, "--data", data, "--no-progress");
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("is a flat model folder (deprecated): move it into a version folder first (mv ");
    await rm(join(repository, "flat"), { recursive: true });
  });

  it("eval takes a name (its highest version) or name/version", async () => {
    const highest = await specialist("eval", "tiny", "--repository", repository, "--data", data);
    expect(highest.code, highest.output).toBe(0);
    expect(highest.output).toMatch(/^tiny@2: /m);
    const first = await specialist("eval", "tiny/1", "--repository", repository, "--data", data, "--baseline-model", "tiny/2", "--margin", "1");
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/^tiny@1: /m);
    expect(first.output).toMatch(/^baseline tiny@2: /m);
    const missing = await specialist("eval", "tiny/9", "--repository", repository, "--data", data);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("no version '9' of model 'tiny'");
    expect(missing.output).toContain("versions: 1, 2");
  }, 120_000);

  it("the server serves the highest version and reloads another by name", async () => {
    server = await startTestServer({ models: { repository, serve: ["tiny"] } });
    expect((await postJson(server, "/v1/classify", { model: "tiny", input: SURE })).json.version).toBe("2");
    const reloaded = await postJson(server, "/admin/models/tiny/reload", { version: "1" });
    expect(reloaded).toMatchObject({ status: 200, json: { previous_version: "2", version: "1" } });
    expect((await postJson(server, "/v1/classify", { model: "tiny", input: SURE })).json.version).toBe("1");
  });

  it("bench compare runs on the version named", async () => {
    const entry = await findModelVersion(repository, "tiny/1");
    const result = await runCompare({
      repository,
      model: entry.manifest.name,
      version: entry.manifest.version,
      examples: (await loadEmailCorpus({ limitPerGroup: 4 })),
      dataName: "email corpus, 4 per folder",
      target: { kind: "kept-accuracy", value: 0.99 },
      frontiers: [{ kind: "sim", errors: "gold", model: "gpt-5-mini", latency: { medianMs: 20, sigma: 0.3 }, errorRate: 0.02, seed: 1 }],
      rate: 40,
      thresholds: [0.9],
      capacitySeconds: 0.5,
      capacityClients: 4,
      costs: DEFAULT_COSTS,
      budgetUsd: 10,
      frontierTimeoutMs: 2_000,
      start: inProcessServers,
      log: () => {},
    });
    expect(result.model).toMatchObject({ name: "tiny", version: "1" });
    for (const arm of result.arms) expect(arm.errors).toBe(0);
  }, 120_000);
});
