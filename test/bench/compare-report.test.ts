import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_COSTS } from "../../bench/compare/cost-model.js";
import { writeReport } from "../../bench/compare/report.js";
import type { FrontierSpec } from "../../bench/compare/frontier-spec.js";
import { runCompare, type CompareResult } from "../../bench/compare/run-compare.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { inProcessServers } from "../../bench/compare/server-starters.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { MODELS_DIR } from "../helpers/server.js";

// A small comparison through the real server, against the three frontier stand-ins with short delays.
let dir: string;
let result: CompareResult;
let examples: LabelledExample[];
let validation: LabelledExample[];
const latency = { medianMs: 30, sigma: 0.3 };

const compare = (test: LabelledExample[], frontiers: FrontierSpec[], thresholds: number[]) =>
  runCompare({
    repository: MODELS_DIR,
    model: "email-spam",
    version: "1",
    examples: test,
    dataName: "email corpus, 8 per folder",
    validation: { examples: validation, name: "email corpus, 16 others per folder" },
    target: { kind: "kept-accuracy", value: 0.99 },
    frontiers,
    standIn: "email-spam-llama",
    rate: 40,
    thresholds,
    capacitySeconds: 1,
    capacityClients: 8,
    costs: DEFAULT_COSTS,
    budgetUsd: 10,
    frontierTimeoutMs: 2_000,
    start: inProcessServers,
    log: () => {},
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compare-report-"));
  const corpus = await loadEmailCorpus({ limitPerGroup: 24 });
  examples = corpus.filter((_, i) => i % 3 === 0);
  validation = corpus.filter((_, i) => i % 3 !== 0);
  result = await compare(
    examples,
    [
      { kind: "sim", errors: "difficulty", model: "gpt-5-mini", latency, errorRate: 0.05, seed: 1 },
      { kind: "stand-in", standIn: "email-spam-llama", model: "gpt-5-mini", latency, seed: 1 },
      { kind: "sim", errors: "gold", model: "gpt-5-mini", latency, errorRate: 0.02, seed: 1 },
    ],
    [0.99],
  );
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("bench compare", () => {
  it("measures the specialist, each frontier alone and the cascade to each, through the server", () => {
    const t = result.thresholdChoice.threshold;
    const labels = ["sim-difficulty", "stand-in:email-spam-llama", "sim-gold"];
    expect(result.arms.map((a) => a.name)).toEqual([
      "specialist",
      ...labels.flatMap((l) => [`frontier · ${l}`, `cascade@${t} · ${l}`]),
      ...(t === 0.99 ? [] : ["cascade@0.99 · sim-difficulty"]),
    ]);
    const specialist = result.arms[0]!;
    expect(specialist.escalationRate).toBe(0);
    expect(specialist.frontierUsd).toBe(0);
    for (const arm of result.arms) {
      expect(arm.errors).toBe(0);
      expect(arm.requests).toBe(result.data.examples);
      if (arm.kind === "frontier") {
        expect(arm.escalationRate).toBe(1);
        // Every input went to the frontier: answered, or degraded by the time budget on a machine busy enough to
        // slow the stand-ins (a suite run beside a soak degraded 16 of 40).
        expect(arm.frontierTokens.calls + Math.round(arm.degradedRate * result.data.examples)).toBe(result.data.examples);
        expect(arm.frontierTokens.calls).toBeGreaterThan(0);
        // The simulated frontier sleeps ≥ ~15 ms per call; the specialist alone does not wait for it.
        expect(arm.load.latencyMs.p50).toBeGreaterThan(specialist.load.latencyMs.p50);
      }
    }
    expect(result.capacityPerSecond).toBeGreaterThan(0);
    expect(result.frontiers.every((f) => f.simulated)).toBe(true);
    const difficulty = result.frontiers[0]!.sim!.difficulty!;
    expect(difficulty.mean).toBeCloseTo(0.05, 6);
    expect(difficulty.judge).toBe("email-spam-llama");
  });

  it("chooses the cascade's threshold on validation: test labels cannot move it", async () => {
    expect(result.thresholdChoice).toMatchObject({ source: "validation", examples: validation.length, data: "email corpus, 16 others per folder" });
    expect(result.chosen).toBe(`cascade@${result.thresholdChoice.threshold} · sim-difficulty`);
    // Every test label flipped: what is reported changes, what was chosen does not.
    const flipped = examples.map((e) => ({ ...e, label: e.label === "spam" ? "ham" : "spam" }));
    const again = await compare(flipped, [{ kind: "sim", errors: "gold", model: "gpt-5-mini", latency, errorRate: 0.02, seed: 1 }], []);
    expect(again.thresholdChoice).toEqual(result.thresholdChoice);
    expect(again.arms[0]!.accuracy).toBeCloseTo(1 - result.arms[0]!.accuracy, 10);
  }, 120_000);

  it("adds a sensitivity table whose measured row for the stand-in is the cascade measured against it", () => {
    const s = result.sensitivity;
    expect(s.threshold).toBe(result.thresholdChoice.threshold);
    const assumed = s.rows.filter((r) => r.source === "assumed").map((r) => r.cascadeAccuracy);
    expect(assumed).toEqual([...assumed].sort((a, b) => b - a));
    // The stand-in answers deterministically: the cascade's measured accuracy is the table's for its measured accuracy.
    const standIn = s.rows.find((r) => r.source === "stand-in:email-spam-llama (measured)")!;
    const measured = result.arms.find((a) => a.name === `cascade@${s.threshold} · stand-in:email-spam-llama`)!;
    expect(measured.accuracy).toBeCloseTo(standIn.cascadeAccuracy, 10);
    expect(s.breakEvenVsSpecialist).toBe(s.specialistAccuracyOnEscalated);
  });

  it("renders the report: every arm, each frontier described (the gold table as an upper bound), claims per frontier, the sensitivity table, JSON and two SVG charts", async () => {
    const files = await writeReport(result, join(dir, "report"));
    const markdown = await readFile(join(dir, "report.md"), "utf8");
    for (const arm of result.arms) expect(markdown).toContain(`| ${arm.name === result.chosen ? `**${arm.name}** (chosen)` : arm.name} |`);
    expect(markdown).toContain("**upper bound**");
    expect(markdown).toContain("## Which claims hold under which frontier");
    expect(markdown).toContain("## Sensitivity");
    expect(markdown).toContain("chosen on email corpus, 16 others per folder");
    expect(markdown).toContain("](report-latency.svg)");
    expect(JSON.parse(await readFile(join(dir, "report.json"), "utf8")).chosen).toBe(result.chosen);
    for (const svg of [join(dir, "report-latency.svg"), join(dir, "report-cost-accuracy.svg")]) {
      const text = await readFile(svg, "utf8");
      expect(text.startsWith("<svg")).toBe(true);
      expect(text).toContain("simulated");
    }
    expect(files).toHaveLength(4);
  });
});
