import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerCalibrateGeneration } from "../../training/cli/calibrate-generation-command.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { MODELS_DIR } from "../helpers/server.js";

// The bundled GGUF model labelling the first words of real emails (some too few to tell), its answer confidence
// fitted on half of them.
const MODEL = "email-spam-llama";
let repository: string;
let lines: Array<{ prompt: string; expected: string }>;

beforeAll(async () => {
  repository = await mkdtemp(join(tmpdir(), "calibrate-generation-"));
  await cp(join(MODELS_DIR, MODEL, "1"), join(repository, MODEL, "1"), { recursive: true });
  const emails = await loadEmailCorpus({ limitPerGroup: 20 });
  lines = emails.map((e) => ({ prompt: `Email:\n${e.text.slice(0, 60)}\nLabel:`, expected: e.label }));
});

afterAll(async () => {
  await rm(repository, { recursive: true, force: true });
});

const writeLines = async (name: string, rows: unknown[]) => {
  const file = join(repository, name);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
};
/** The command as `specialist calibrate-generation` runs it, in this process (no CLI start-up): its printed lines. */
async function calibrate(data: string, report: string): Promise<{ stdout: string }> {
  const program = new Command().exitOverride();
  registerCalibrateGeneration(program);
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await program.parseAsync(["calibrate-generation", MODEL, "--repository", repository, "--data", data, "--score", "mean", "--max-tokens", "1", "--target-accuracy", "0.95", "--report", report], { from: "user" });
  } finally {
    log.mockRestore();
  }
  return { stdout: lines.join("\n") };
}
const generationBlock = async () => JSON.parse(await readFile(join(repository, MODEL, "1", "model.json"), "utf8")).generation;

describe("specialist calibrate-generation", () => {
  it("fits the temperature and threshold on the validation lines only, and writes them to model.json", async () => {
    const data = await writeLines("emails.jsonl", lines);
    const { stdout } = await calibrate(data, join(repository, "report.json"));
    expect(stdout).toMatch(/report lines: accuracy/);
    const block = await generationBlock();
    expect(block.score).toBe("mean");
    expect(block.temperature).toBeGreaterThan(0);
    expect(block.threshold).toBeGreaterThanOrEqual(0);
    expect(block.threshold).toBeLessThanOrEqual(1);
    const report = JSON.parse(await readFile(join(repository, "report.json"), "utf8"));
    expect([...report.validationLines, ...report.reportLines].sort((a: number, b: number) => a - b)).toEqual(lines.map((_, i) => i + 1));
    // Most answers are right, not all: something to calibrate.
    const right = report.answers.filter((a: { correct: boolean }) => a.correct).length;
    expect(right).toBeGreaterThan(lines.length / 2);
    expect(right).toBeLessThan(lines.length);

    // Wrong expectations on the report lines change what is reported, never what was fitted.
    const reportLines = new Set<number>(report.reportLines);
    const spoiled = lines.map((l, i) => (reportLines.has(i + 1) ? { ...l, expected: l.expected === "spam" ? "ham" : "spam" } : l));
    const again = await calibrate(await writeLines("spoiled.jsonl", spoiled), join(repository, "report-2.json"));
    const refit = await generationBlock();
    // (Sequences decoded side by side may differ in the last float digits.)
    expect(refit.temperature).toBeCloseTo(block.temperature, 5);
    expect(refit.threshold).toBeCloseTo(block.threshold, 5);
    const second = JSON.parse(await readFile(join(repository, "report-2.json"), "utf8"));
    expect(second.test.accuracy).toBeCloseTo(1 - report.test.accuracy, 10);
    expect(again.stdout).toContain("report lines");
  });

  it("names the line of a malformed example (ERR_DATA_INVALID, exit 1 from the CLI) and writes nothing", async () => {
    const before = await readFile(join(repository, MODEL, "1", "model.json"), "utf8");
    const data = await writeLines("bad.jsonl", [lines[0], { prompt: "x" }]);
    await expect(calibrate(data, join(repository, "bad-report.json"))).rejects.toMatchObject({ code: "ERR_DATA_INVALID", message: expect.stringMatching(/bad\.jsonl:2: expected: expected is required/) });
    expect(await readFile(join(repository, MODEL, "1", "model.json"), "utf8")).toBe(before);
  });
});
