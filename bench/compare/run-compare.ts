import { cpus, totalmem } from "node:os";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { loadFrontierPrompt } from "../../server/escalation/frontier-prompt.js";
import { priceBook } from "../../server/escalation/price-table.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { findModelVersion } from "../../server/models/repository.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { ThresholdTarget } from "../../training/calibration/threshold.js";
import { closedLoop } from "../load/load-generator.js";
import { measuredServerConfig } from "../load/measured-server-config.js";
import { difficultyErrors } from "../sim/difficulty-errors.js";
import { SimFrontier, type SimStats } from "../sim/sim-frontier.js";
import { runArm, type ArmKind, type ArmMeasurement, type ArmOutcome } from "./arm.js";
import { classifyExamples } from "./classify-examples.js";
import { frontierUsdPerWorkloadRequest, hostUsdPerRequest, monthlyCost, type CostSettings, type MonthlyCost, type TokenPrice } from "./cost-model.js";
import { frontierLabel, isSimulated, providerFor, type FrontierSpec } from "./frontier-spec.js";
import { breakEvenVsFrontier, sensitivity, type Sensitivity } from "./sensitivity.js";
import type { ServerHandle, ServerStarter } from "./server-starters.js";
import { chooseCompareThreshold, sweepThresholds, type ThresholdChoice } from "./threshold-choice.js";
import { versions } from "./versions.js";

export interface CompareOptions {
  repository: string;
  /** The model's name, and the version every arm's server is pinned to. */
  model: string;
  version: string;
  /** The data the report measures on (a test split): nothing is chosen on it. */
  examples: LabelledExample[];
  /** Where the examples come from, for the report (e.g. "email:random test split, seed 1"). */
  dataName: string;
  /** Labelled data the cascade's threshold is chosen on; without it, the model's own threshold. */
  validation?: { examples: LabelledExample[]; name: string };
  /** What the chosen threshold must reach on validation (as at training). */
  target: ThresholdTarget;
  /** The frontiers compared; the first is the one the threshold sweep runs against. */
  frontiers: FrontierSpec[];
  /** A repository model that judges how hard each input is (sim-difficulty) and answers as `stand-in`. */
  standIn?: string;
  /** Open-loop arrival rate, requests per second. */
  rate: number;
  /** Thresholds shown beside the chosen one (against the first frontier), for information: never chosen from. */
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
  /** The frontier arm this row escalates to (none for the specialist alone). */
  frontier?: string;
  hostUsdPerRequest: number;
  frontierUsdPerRequest: number;
  usdPer1000: number;
  monthly: MonthlyCost;
}

export interface FrontierArm {
  label: string;
  kind: FrontierSpec["kind"];
  model: string;
  simulated: boolean;
  price: TokenPrice;
  sim?: { medianMs: number; sigma: number; reasoningTokens?: number; errorRate?: number; difficulty?: { k: number; gamma: number; cap: number; mean: number; judge: string }; standIn?: string; stats: Omit<SimStats, "latenciesMs"> };
  /** Its accuracy on the inputs the chosen cascade escalates (from its frontier-only arm). */
  accuracyOnEscalated: number;
  targets: { cascadeAccuracyAtLeastFrontier: boolean; costRatio: number; costRatioMet: boolean; p50Ratio: number; p50RatioMet: boolean; breakEvenAccuracyOnEscalated: number };
}

export interface CompareResult {
  date: string;
  model: { name: string; version: string; format: string; threshold: number };
  data: { name: string; examples: number; meanInputTokens: number };
  thresholdChoice: ThresholdChoice;
  frontiers: FrontierArm[];
  settings: { rate: number; thresholds: number[]; capacitySeconds: number; capacityClients: number; frontierTimeoutMs: number; costs: CostSettings };
  environment: Record<string, string | number>;
  capacityPerSecond: number;
  promptOverheadTokens: number;
  arms: ArmResult[];
  /** The cascade at the threshold chosen on validation, against the first frontier. */
  chosen: string;
  sensitivity: Sensitivity & { levels: number[] };
}

const cascadeName = (threshold: number, frontier: string) => `cascade@${threshold} · ${frontier}`;
const frontierName = (frontier: string) => `frontier · ${frontier}`;

/**
 * The specialist alone, each frontier alone and the cascade to each, through a fresh real server over HTTP under
 * the same open-loop load, then costs: the specialist's from its measured capacity and a host price, a frontier's
 * from the usage it reported (counted by a real tokenizer when simulated). The cascade's threshold is chosen on
 * validation data before any test answer is seen; the test data only reports.
 */
export async function runCompare(options: CompareOptions): Promise<CompareResult> {
  const { log } = options;
  const modelDir = (await findModelVersion(options.repository, `${options.model}/${options.version}`)).dir;
  const manifest = await readManifest(modelDir);
  const prompt = await loadFrontierPrompt(modelDir, manifest.escalation.prompt, manifest.labels);
  const book = priceBook({});
  for (const f of options.frontiers) if (!book.priceOf(f.model)) throw new Error(`no price for '${f.model}' in the price table ${book.version}`);
  const gold = new Map(options.examples.map((e) => [prompt.render(e.text).user, e.label]));
  const textOf = new Map(options.examples.map((e) => [prompt.render(e.text).user, e.text]));

  const configFor = (provider: ReturnType<typeof providerFor> | undefined, threshold?: number): ServerConfigInput => ({
    server: { host: "127.0.0.1", port: 0, requestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000, maxRequestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000 },
    models: {
      repository: options.repository,
      serve: [options.model],
      overrides: { [options.model]: { version: options.version, ...(threshold !== undefined ? { threshold } : {}), escalation: { onLowConfidence: provider ? "escalate" : "none", ...(provider ? { provider: "bench" } : {}) } } },
    },
    // The whole escalation may take the call's timeout: what is measured is the frontier, not a cut-off budget.
    ...(provider ? { escalation: { deadlineMs: options.frontierTimeoutMs, providers: { bench: provider.settings } } } : {}),
    auth: { open: { dailyBudgetUsd: options.budgetUsd, escalationsPerMinute: 1_000_000 } },
    ledger: { path: ":memory:" },
    cache: { enabled: false },
    metrics: { defaultMetrics: false },
  });

  // The specialist alone first: its capacity, its answers on test, and the threshold chosen on validation.
  let capacityPerSecond = 0;
  const measurements: Array<ArmMeasurement & { frontier?: string }> = [];
  let specialistOutcomes: ArmOutcome[] = [];
  let choice: ThresholdChoice;
  {
    const server = await options.start(configFor(undefined), {});
    try {
      const bodies = options.examples.map((e) => JSON.stringify({ model: options.model, input: e.text, route: "specialist" }));
      capacityPerSecond = (await closedLoop({ origin: server.origin, path: "/v1/classify", bodies, durationSeconds: options.capacitySeconds, warmupSeconds: 1 }, options.capacityClients)).throughput;
      log(`capacity: ${capacityPerSecond.toFixed(0)} req/s (specialist, ${options.capacityClients} clients, closed loop)`);
      const validation = options.validation && {
        name: options.validation.name,
        predictions: (await classifyExamples(server.origin, options.model, options.validation.examples)).map((a, i) => ({ confidence: a.confidence, correct: a.label === options.validation!.examples[i]!.label })),
      };
      choice = chooseCompareThreshold(validation, options.target, { threshold: manifest.threshold, name: options.model });
      log(`threshold ${choice.threshold.toFixed(4)} chosen on ${choice.data}`);
      const { measurement, outcomes } = await runArm(server.origin, { name: "specialist", kind: "specialist", model: options.model, labels: manifest.labels }, options.examples, options.rate);
      measurements.push(measurement);
      specialistOutcomes = outcomes;
      logArm(log, measurement);
    } finally {
      await server.stop();
    }
  }
  const chosenThreshold = Math.round(choice.threshold * 1e6) / 1e6;

  // The stand-in model: how hard each input is (1 − its probability of the gold label), and its answers.
  let judge: ServerHandle | undefined;
  const needsJudge = options.frontiers.some((f) => f.kind === "stand-in" || (f.kind === "sim" && f.errors === "difficulty"));
  let difficulty: number[] = [];
  const frontierArms: Array<{ spec: FrontierSpec; label: string; sim?: SimFrontier; info?: FrontierArm["sim"] }> = [];
  try {
    if (needsJudge) {
      if (!options.standIn) throw new Error("sim-difficulty and stand-in need a stand-in model (--stand-in)");
      judge = await options.start({ server: { host: "127.0.0.1", port: 0 }, ...measuredServerConfig(options.repository, options.standIn), metrics: { defaultMetrics: false } }, {});
      const judged = await classifyExamples(judge.origin, options.standIn, options.examples);
      difficulty = judged.map((a, i) => 1 - (a.scores[options.examples[i]!.label] ?? 0));
    }
    for (const spec of options.frontiers) {
      const label = frontierLabel(spec);
      if (spec.kind === "sim" && spec.errors === "gold") {
        const sim = await new SimFrontier({ labels: manifest.labels, goldOf: (user) => gold.get(user), latency: spec.latency, errorRate: spec.errorRate, seed: spec.seed, ...reasoningOf(spec) }).start();
        frontierArms.push({ spec, label, sim, info: { medianMs: spec.latency.medianMs, sigma: spec.latency.sigma, errorRate: spec.errorRate, stats: sim.stats } });
      } else if (spec.kind === "sim") {
        const errors = difficultyErrors(difficulty, spec.errorRate, spec.gamma ?? 1);
        const rateOf = new Map(options.examples.map((e, i) => [prompt.render(e.text).user, errors.rates[i]!]));
        const sim = await new SimFrontier({ labels: manifest.labels, goldOf: (user) => gold.get(user), errorOf: (user) => rateOf.get(user), latency: spec.latency, errorRate: spec.errorRate, seed: spec.seed, ...reasoningOf(spec) }).start();
        const { rates: _rates, ...params } = errors;
        frontierArms.push({ spec, label, sim, info: { medianMs: spec.latency.medianMs, sigma: spec.latency.sigma, errorRate: spec.errorRate, difficulty: { ...params, judge: options.standIn! }, stats: sim.stats } });
      } else if (spec.kind === "stand-in") {
        const origin = judge!.origin;
        const answerOf = async (user: string) => (await classifyExamples(origin, spec.standIn, [{ text: textOf.get(user) ?? user }]))[0]!.label;
        const sim = await new SimFrontier({ labels: manifest.labels, goldOf: (user) => gold.get(user), answerOf, latency: spec.latency, errorRate: 0, seed: spec.seed, ...reasoningOf(spec) }).start();
        frontierArms.push({ spec, label, sim, info: { medianMs: spec.latency.medianMs, sigma: spec.latency.sigma, standIn: spec.standIn, stats: sim.stats } });
      } else {
        frontierArms.push({ spec, label });
      }
    }

    const outcomesOf = new Map<string, ArmOutcome[]>();
    const run = async (f: (typeof frontierArms)[number], kind: ArmKind, threshold?: number) => {
      const provider = providerFor(f.spec, f.sim?.url, options.frontierTimeoutMs);
      const name = kind === "frontier" ? frontierName(f.label) : cascadeName(threshold!, f.label);
      const server = await options.start(configFor(provider, threshold), provider.env);
      try {
        const { measurement, outcomes } = await runArm(server.origin, { name, kind, ...(threshold !== undefined ? { threshold } : {}), model: options.model, labels: manifest.labels }, options.examples, options.rate);
        measurements.push({ ...measurement, frontier: f.label });
        outcomesOf.set(name, outcomes);
        logArm(log, measurement);
      } finally {
        await server.stop();
      }
    };
    for (const f of frontierArms) {
      await run(f, "frontier");
      await run(f, "cascade", chosenThreshold);
    }
    for (const t of sweepThresholds(chosenThreshold, options.thresholds).filter((t) => t !== chosenThreshold)) await run(frontierArms[0]!, "cascade", t);

    const empty = prompt.render("");
    const promptOverheadTokens = countTokens(empty.system) + countTokens(empty.user) + 16;
    const perCall = new Map(
      frontierArms.map((f) => {
        const calls = measurements.find((m) => m.name === frontierName(f.label))!.frontierTokens;
        return [f.label, frontierUsdPerWorkloadRequest(book.priceOf(f.spec.model)!, options.costs, promptOverheadTokens, calls.output)];
      }),
    );
    const results: ArmResult[] = measurements.map((m) => {
      const host = m.kind === "frontier" ? 0 : hostUsdPerRequest(options.costs, capacityPerSecond);
      const frontierUsdPerRequest = m.frontierUsd / m.requests;
      const monthly = monthlyCost(options.costs, { usesSpecialist: m.kind !== "frontier", escalationRate: m.escalationRate, capacityPerSecond, frontierUsdPerCall: m.frontier ? perCall.get(m.frontier)! : 0 });
      return { ...m, hostUsdPerRequest: host, frontierUsdPerRequest, usdPer1000: (host + frontierUsdPerRequest) * 1000, monthly };
    });

    // What the buyer needs: the cascade's accuracy for a frontier of any accuracy on the inputs it escalates.
    const specialist = specialistOutcomes.map((o, i) => ({ confidence: o.confidence, correct: o.label === options.examples[i]!.label }));
    const escalatedAt = specialist.map((o) => o.confidence < chosenThreshold);
    const accuracyOnEscalated = (label: string) => {
      let escalated = 0;
      let right = 0;
      outcomesOf.get(frontierName(label))!.forEach((answer, i) => {
        if (!escalatedAt[i]) return;
        escalated++;
        if (answer.label === options.examples[i]!.label) right++;
      });
      return escalated ? right / escalated : 1;
    };
    const levels = [1, 0.99, 0.95, 0.9, 0.8];
    const measuredLevels = frontierArms.map((f) => ({ accuracy: accuracyOnEscalated(f.label), source: `${f.label} (measured)` }));
    const table = sensitivity(specialist, chosenThreshold, [...levels.map((a) => ({ accuracy: a, source: "assumed" })), ...measuredLevels]);

    const frontiers: FrontierArm[] = frontierArms.map((f) => {
      const alone = results.find((r) => r.name === frontierName(f.label))!;
      const cascade = results.find((r) => r.name === cascadeName(chosenThreshold, f.label))!;
      const costRatio = cascade.usdPer1000 / alone.usdPer1000;
      const p50Ratio = alone.load.latencyMs.p50 / cascade.load.latencyMs.p50;
      return {
        label: f.label,
        kind: f.spec.kind,
        model: f.spec.model,
        simulated: isSimulated(f.spec),
        price: book.priceOf(f.spec.model)!,
        ...(f.info ? { sim: { ...f.info, ...reasoningOf(f.spec), stats: { requests: f.info.stats.requests, wrong: f.info.stats.wrong, unknown: f.info.stats.unknown } } } : {}),
        accuracyOnEscalated: accuracyOnEscalated(f.label),
        targets: {
          cascadeAccuracyAtLeastFrontier: cascade.accuracy >= alone.accuracy,
          costRatio,
          costRatioMet: costRatio <= 0.1,
          p50Ratio,
          p50RatioMet: p50Ratio >= 20,
          breakEvenAccuracyOnEscalated: breakEvenVsFrontier(table, specialist, alone.accuracy),
        },
      };
    });

    return {
      date: new Date().toISOString(),
      model: { name: manifest.name, version: manifest.version, format: manifest.format, threshold: manifest.threshold },
      data: { name: options.dataName, examples: options.examples.length, meanInputTokens: options.examples.reduce((s, e) => s + countTokens(e.text), 0) / options.examples.length },
      thresholdChoice: choice,
      frontiers,
      settings: { rate: options.rate, thresholds: options.thresholds, capacitySeconds: options.capacitySeconds, capacityClients: options.capacityClients, frontierTimeoutMs: options.frontierTimeoutMs, costs: options.costs },
      environment: { ...(await versions()), cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      capacityPerSecond,
      promptOverheadTokens,
      arms: results,
      chosen: cascadeName(chosenThreshold, frontierArms[0]!.label),
      sensitivity: { ...table, levels },
    };
  } finally {
    for (const f of frontierArms) await f.sim?.stop();
    await judge?.stop();
  }
}

/** A simulated reasoning model's hidden tokens per call, when the spec has them. */
const reasoningOf = (spec: FrontierSpec) => ("reasoningTokens" in spec && spec.reasoningTokens ? { reasoningTokens: spec.reasoningTokens } : {});

function logArm(log: (line: string) => void, m: ArmMeasurement): void {
  log(`${m.name}: accuracy ${(m.accuracy * 100).toFixed(2)}%, escalated ${(m.escalationRate * 100).toFixed(1)}%, p50 ${m.load.latencyMs.p50.toFixed(1)} ms, p99 ${m.load.latencyMs.p99.toFixed(1)} ms, errors ${m.errors}`);
}
