import { cpus, totalmem } from "node:os";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { loadFrontierPrompt } from "../../server/escalation/frontier-prompt.js";
import { priceBook } from "../../server/escalation/price-table.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { findModelVersion } from "../../server/models/repository.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { closedLoop } from "../load/load-generator.js";
import { SimFrontier, type SimStats } from "../sim/sim-frontier.js";
import { runArm, type ArmKind, type ArmMeasurement } from "./arm.js";
import { frontierUsdPerWorkloadRequest, hostUsdPerRequest, monthlyCost, type CostSettings, type MonthlyCost, type TokenPrice } from "./cost-model.js";
import { providerFor, type FrontierSpec } from "./frontier-spec.js";
import type { ServerStarter } from "./server-starters.js";
import { versions } from "./versions.js";

export interface CompareOptions {
  repository: string;
  /** The model's name, and the version every arm's server is pinned to. */
  model: string;
  version: string;
  examples: LabelledExample[];
  /** Where the examples come from, for the report (e.g. "email:random test split, seed 1"). */
  dataName: string;
  frontier: FrontierSpec;
  /** Open-loop arrival rate, requests per second. */
  rate: number;
  thresholds: number[];
  capacitySeconds: number;
  capacityClients: number;
  costs: CostSettings;
  budgetUsd: number;
  frontierTimeoutMs: number;
  start: ServerStarter;
  log: (line: string) => void;
}

export interface ArmResult extends ArmMeasurement {
  hostUsdPerRequest: number;
  frontierUsdPerRequest: number;
  usdPer1000: number;
  monthly: MonthlyCost;
}

export interface CompareResult {
  date: string;
  model: { name: string; version: string; format: string; threshold: number };
  data: { name: string; examples: number; meanInputTokens: number };
  frontier: { kind: FrontierSpec["kind"]; model: string; simulated: boolean; price: TokenPrice; priceTable: string; sim?: { medianMs: number; sigma: number; errorRate: number; stats: Omit<SimStats, "latenciesMs"> } };
  settings: { rate: number; thresholds: number[]; capacitySeconds: number; capacityClients: number; frontierTimeoutMs: number; costs: CostSettings };
  environment: Record<string, string | number>;
  capacityPerSecond: number;
  promptOverheadTokens: number;
  arms: ArmResult[];
  chosen: string;
  targets: { cascadeAccuracyAtLeastFrontier: boolean; costRatio: number; costRatioMet: boolean; p50Ratio: number; p50RatioMet: boolean };
}

/**
 * Specialist only, frontier only and the cascade at each threshold, each through a fresh real server over HTTP
 * under the same open-loop load, then costs: the specialist's from its measured capacity and a host price, the
 * frontier's from the usage the provider reported (counted by a real tokenizer when simulated).
 */
export async function runCompare(options: CompareOptions): Promise<CompareResult> {
  const { log } = options;
  const modelDir = (await findModelVersion(options.repository, `${options.model}/${options.version}`)).dir;
  const manifest = await readManifest(modelDir);
  const prompt = await loadFrontierPrompt(modelDir, manifest.escalation.prompt, manifest.labels);
  const book = priceBook({});
  const price = book.priceOf(options.frontier.model);
  if (!price) throw new Error(`no price for '${options.frontier.model}' in the price table ${book.version}`);

  let sim: SimFrontier | undefined;
  if (options.frontier.kind === "sim") {
    const gold = new Map(options.examples.map((e) => [prompt.render(e.text).user, e.label]));
    sim = await new SimFrontier({ labels: manifest.labels, goldOf: (user) => gold.get(user), ...options.frontier }).start();
  }
  const provider = providerFor(options.frontier, sim?.url, options.frontierTimeoutMs);
  const configFor = (threshold?: number): ServerConfigInput => ({
    server: { host: "127.0.0.1", port: 0, requestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000, maxRequestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000 },
    models: {
      repository: options.repository,
      serve: [options.model],
      overrides: { [options.model]: { version: options.version, ...(threshold !== undefined ? { threshold } : {}), escalation: { onLowConfidence: "escalate", provider: "bench" } } },
    },
    escalation: { providers: { bench: provider.settings } },
    auth: { open: { dailyBudgetUsd: options.budgetUsd, escalationsPerMinute: 1_000_000 } },
    ledger: { path: ":memory:" },
    cache: { enabled: false },
    metrics: { defaultMetrics: false },
  });

  const measurements: ArmMeasurement[] = [];
  let capacityPerSecond = 0;
  const arms: Array<{ name: string; kind: ArmKind; threshold?: number }> = [
    { name: "specialist", kind: "specialist" },
    { name: "frontier", kind: "frontier" },
    ...options.thresholds.map((t) => ({ name: `cascade@${t}`, kind: "cascade" as const, threshold: t })),
  ];
  try {
    for (const arm of arms) {
      const server = await options.start(configFor(arm.threshold), provider.env);
      try {
        if (arm.kind === "specialist") {
          const bodies = options.examples.map((e) => JSON.stringify({ model: options.model, input: e.text, route: "specialist" }));
          const capacity = await closedLoop({ origin: server.origin, path: "/v1/classify", bodies, durationSeconds: options.capacitySeconds, warmupSeconds: 1 }, options.capacityClients);
          capacityPerSecond = capacity.throughput;
          log(`capacity: ${capacityPerSecond.toFixed(0)} req/s (specialist, ${options.capacityClients} clients, closed loop)`);
        }
        const measured = await runArm(server.origin, { ...arm, model: options.model, labels: manifest.labels }, options.examples, options.rate);
        measurements.push(measured);
        log(`${arm.name}: accuracy ${(measured.accuracy * 100).toFixed(2)}%, escalated ${(measured.escalationRate * 100).toFixed(1)}%, p50 ${measured.load.latencyMs.p50.toFixed(1)} ms, p99 ${measured.load.latencyMs.p99.toFixed(1)} ms, errors ${measured.errors}`);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await sim?.stop();
  }

  const empty = prompt.render("");
  const promptOverheadTokens = countTokens(empty.system) + countTokens(empty.user) + 16;
  const calls = measurements.find((m) => m.kind === "frontier")!.frontierTokens;
  const frontierPerCall = frontierUsdPerWorkloadRequest(price, options.costs, promptOverheadTokens, calls.output);
  const results: ArmResult[] = measurements.map((m) => {
    const host = m.kind === "frontier" ? 0 : hostUsdPerRequest(options.costs, capacityPerSecond);
    const frontierUsdPerRequest = m.frontierUsd / m.requests;
    const monthly = monthlyCost(options.costs, { usesSpecialist: m.kind !== "frontier", escalationRate: m.escalationRate, capacityPerSecond, frontierUsdPerCall: frontierPerCall });
    return { ...m, hostUsdPerRequest: host, frontierUsdPerRequest, usdPer1000: (host + frontierUsdPerRequest) * 1000, monthly };
  });

  const frontierArm = results.find((r) => r.kind === "frontier")!;
  const cascades = results.filter((r) => r.kind === "cascade");
  // The most accurate cascade (the cheaper of equals): the targets are then checked on it, not chosen to meet them.
  const chosen = [...cascades].sort((a, b) => b.accuracy - a.accuracy || a.usdPer1000 - b.usdPer1000)[0]!;
  const costRatio = chosen.usdPer1000 / frontierArm.usdPer1000;
  const p50Ratio = frontierArm.load.latencyMs.p50 / chosen.load.latencyMs.p50;

  return {
    date: new Date().toISOString(),
    model: { name: manifest.name, version: manifest.version, format: manifest.format, threshold: manifest.threshold },
    data: { name: options.dataName, examples: options.examples.length, meanInputTokens: options.examples.reduce((s, e) => s + countTokens(e.text), 0) / options.examples.length },
    frontier: {
      kind: options.frontier.kind,
      model: options.frontier.model,
      simulated: options.frontier.kind === "sim",
      price,
      priceTable: book.version,
      ...(options.frontier.kind === "sim" && sim
        ? { sim: { medianMs: options.frontier.latency.medianMs, sigma: options.frontier.latency.sigma, errorRate: options.frontier.errorRate, stats: { requests: sim.stats.requests, wrong: sim.stats.wrong, unknown: sim.stats.unknown } } }
        : {}),
    },
    settings: { rate: options.rate, thresholds: options.thresholds, capacitySeconds: options.capacitySeconds, capacityClients: options.capacityClients, frontierTimeoutMs: options.frontierTimeoutMs, costs: options.costs },
    environment: { ...(await versions()), cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    capacityPerSecond,
    promptOverheadTokens,
    arms: results,
    chosen: chosen.name,
    targets: { cascadeAccuracyAtLeastFrontier: chosen.accuracy >= frontierArm.accuracy, costRatio, costRatioMet: costRatio <= 0.1, p50Ratio, p50RatioMet: p50Ratio >= 20 },
  };
}
