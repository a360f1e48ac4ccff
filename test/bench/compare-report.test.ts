import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_COSTS } from "../../bench/compare/cost-model.js";
import { writeReport } from "../../bench/compare/report.js";
import { runCompare, type CompareResult } from "../../bench/compare/run-compare.js";
import { inProcessServers } from "../../bench/compare/server-starters.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { MODELS_DIR } from "../helpers/server.js";

// A small comparison through the real server, against the simulated frontier with short delays.
let dir: string;
let result: CompareResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compare-report-"));
  const examples = await loadEmailCorpus({ limitPerGroup: 8 });
  result = await runCompare({
    repository: MODELS_DIR,
    model: "email-spam",
    version: "1",
    examples,
    dataName: "email corpus, 8 per folder",
    frontier: { kind: "sim", model: "gpt-5-mini", latency: { medianMs: 30, sigma: 0.3 }, errorRate: 0.02, seed: 1 },
    rate: 40,
    thresholds: [0.9, 0.99],
    capacitySeconds: 1,
    capacityClients: 8,
    costs: DEFAULT_COSTS,
    budgetUsd: 10,
    frontierTimeoutMs: 2_000,
    start: inProcessServers,
    log: () => {},
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("bench compare", () => {
  it("measures every way of serving through the server", () => {
    expect(result.arms.map((a) => a.name)).toEqual(["specialist", "frontier", "cascade@0.9", "cascade@0.99"]);
    const [specialist, frontier, low, high] = result.arms;
    expect(specialist!.escalationRate).toBe(0);
    expect(specialist!.frontierUsd).toBe(0);
    expect(frontier!.escalationRate).toBe(1);
    expect(frontier!.frontierTokens.calls).toBe(result.data.examples);
    expect(high!.escalationRate).toBeGreaterThanOrEqual(low!.escalationRate);
    for (const arm of result.arms) {
      expect(arm.errors).toBe(0);
      expect(arm.requests).toBe(result.data.examples);
    }
    // The simulated frontier sleeps ≥ ~15 ms per call; the specialist alone does not wait for it.
    expect(frontier!.load.latencyMs.p50).toBeGreaterThan(specialist!.load.latencyMs.p50);
    expect(result.capacityPerSecond).toBeGreaterThan(0);
    expect(result.frontier.simulated).toBe(true);
  });

  it("renders the report: Markdown with every arm and the simulation flagged, JSON, and two SVG charts", async () => {
    const files = await writeReport(result, join(dir, "report"));
    const markdown = await readFile(join(dir, "report.md"), "utf8");
    for (const arm of result.arms) expect(markdown).toContain(`| ${arm.name === result.chosen ? `**${arm.name}** (chosen)` : arm.name} |`);
    expect(markdown).toContain("**Simulated frontier.**");
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
