import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerCalibrateCache } from "../../training/cli/calibrate-cache-command.js";
import { MODELS_DIR } from "../helpers/server.js";

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

/** The command as `specialist calibrate-cache` runs it, in this process (no CLI start-up): its printed lines and exit code. */
async function calibrate(...args: string[]): Promise<{ stdout: string; code: number }> {
  const program = new Command().exitOverride();
  registerCalibrateCache(program);
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await program.parseAsync(["calibrate-cache", "email-spam", "--repository", repository, ...args], { from: "user" });
    return { stdout: lines.join("\n"), code: Number(process.exitCode ?? 0) };
  } finally {
    log.mockRestore();
    process.exitCode = undefined;
  }
}
const semanticBlock = async () => JSON.parse(await readFile(join(repository, "email-spam", "model.json"), "utf8")).semanticCache;

describe("specialist calibrate-cache", () => {
  it("writes nothing and exits 2 when the data cannot show the target false-hit rate", async () => {
    const file = join(repository, "few.jsonl");
    const rows = ["Meeting at noon tomorrow", "Meeting at noon on Friday", "Win a free cruise now", "Win a free cruise today"];
    await writeFile(file, rows.map((text, i) => JSON.stringify({ text, label: i < 2 ? "ham" : "spam" })).join("\n"));
    const failed = await calibrate("--data", file);
    expect(failed.code).toBe(2);
    expect(failed.stdout).toMatch(/no similarity threshold keeps the false-hit rate under 0.005/);
    expect(await semanticBlock()).toBeUndefined();
  });

  it("chooses the threshold on the corpus's train and validation splits and writes it to model.json", async () => {
    const { stdout, code } = await calibrate("--corpus", "email:random");
    expect(code).toBe(0);
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
    // About 20 s of CPU (pairs of 4,700 texts); a machine shared with other work can take three times as long.
  }, 180_000);
});
