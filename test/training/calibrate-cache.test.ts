import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../helpers/server.js";

const run = promisify(execFile);
const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
let repository: string;

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "calibrate-cache-"));
  await cp(join(MODELS_DIR, "email-spam", "1"), join(repository, "email-spam"), { recursive: true });
  const manifest = JSON.parse(await readFile(join(repository, "email-spam", "model.json"), "utf8"));
  delete manifest.semanticCache;
  await writeFile(join(repository, "email-spam", "model.json"), JSON.stringify(manifest, null, 2));
});

afterAll(async () => {
  await rm(repository, { recursive: true, force: true });
});

const calibrate = (...args: string[]) => run(process.execPath, ["--import", "tsx", CLI, "calibrate-cache", "email-spam", "--repository", repository, ...args]);
const semanticBlock = async () => JSON.parse(await readFile(join(repository, "email-spam", "model.json"), "utf8")).semanticCache;

describe("specialist calibrate-cache", () => {
  it("writes nothing and exits 2 when the data cannot show the target false-hit rate", async () => {
    const file = join(repository, "few.jsonl");
    const rows = ["Meeting at noon tomorrow", "Meeting at noon on Friday", "Win a free cruise now", "Win a free cruise today"];
    await writeFile(file, rows.map((text, i) => JSON.stringify({ text, label: i < 2 ? "ham" : "spam" })).join("\n"));
    const failed = await calibrate("--data", file).then(() => undefined, (error: { code: number; stdout: string }) => error);
    expect(failed?.code).toBe(2);
    expect(failed?.stdout).toMatch(/no similarity threshold keeps the false-hit rate under 0.005/);
    expect(await semanticBlock()).toBeUndefined();
  });

  it("chooses the threshold on the corpus's train and validation splits and writes it to model.json", async () => {
    const { stdout } = await calibrate("--corpus", "email:random");
    expect(stdout).toMatch(/written to/);
    const block = await semanticBlock();
    expect(block).toMatchObject({ embedder: "lexical-v1", falseHitTarget: 0.005, calibratedOn: "email:random train+validation splits (seed 1)" });
    expect(block.similarity).toBeGreaterThan(0);
    expect(block.similarity).toBeLessThan(1);
    expect(block.falseHitUpperBound).toBeLessThanOrEqual(0.005);
    expect(block.hits).toBeGreaterThan(500);
    // The bundled model.json was calibrated the same way.
    const bundled = JSON.parse(await readFile(join(MODELS_DIR, "email-spam", "1", "model.json"), "utf8")).semanticCache;
    expect(block.similarity).toBeCloseTo(bundled.similarity, 9);
  });
});
