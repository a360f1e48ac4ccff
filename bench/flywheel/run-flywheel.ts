import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { loadFrontierPrompt } from "../../server/escalation/frontier-prompt.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import type { TrainingMetrics } from "../../training/model-folder/training-metrics.js";
import { providerFor, type FrontierSpec } from "../compare/frontier-spec.js";
import type { ServerStarter } from "../compare/server-starters.js";
import { versions } from "../compare/versions.js";
import { SimFrontier } from "../sim/sim-frontier.js";
import { loadDriftData, type ArrivalOrder } from "./drift-data.js";
import { writeLabelledJsonl } from "./labelled-jsonl.js";
import { Retrainer, type RetrainStep } from "./retrainer.js";
import { trainVersion, type SpecialistCli } from "./specialist-cli.js";
import { Stream, type Arrival } from "./stream.js";
import { score, timeline, type TimelinePoint } from "./timeline.js";

export interface FlywheelOptions {
  cli: SpecialistCli;
  frontierPrompt: string;
  model: string;
  seed: number;
  order: ArrivalOrder;
  frontier: FrontierSpec;
  /** Arrival rate while the loop runs (first half, retraining variant). */
  rate: number;
  /** Arrival rate where nothing depends on timing: the held-out half, and the variant that never retrains. */
  evalRate: number;
  every: number;
  /** The validation accuracy each version's threshold keeps (`train --target-accuracy`). */
  targetAccuracy: number;
  recentHoldout: number;
  margin: number;
  window: number;
  frontierTimeoutMs: number;
  start: ServerStarter;
  /** Keep the scratch folder (models, ledgers, training files) here instead of a temporary one. */
  workDir?: string;
  log: (line: string) => void;
}

/** One way of running the stream: the specialist retrained by the loop, or left as trained on period 1. */
export interface VariantResult {
  name: "retraining" | "no retraining";
  arrivals: Arrival[];
  timeline: TimelinePoint[];
  /** Scores over the held-out second half, with the version frozen after the first. */
  secondHalf: ReturnType<typeof score> & { version: string; errors: number };
  firstHalf: ReturnType<typeof score>;
  steps: RetrainStep[];
}

export interface FlywheelResult {
  date: string;
  settings: Pick<FlywheelOptions, "model" | "seed" | "order" | "rate" | "evalRate" | "every" | "targetAccuracy" | "recentHoldout" | "margin" | "window" | "frontierTimeoutMs"> & { frontier: string };
  data: { period1: { train: number; validation: number; golden: number }; period2: { first: number; second: number; spamShare: { first: number; second: number } }; duplicatesRemoved: number };
  version1: { threshold: number; trainSeconds: number };
  sim?: { errorRate: number; medianMs: number; sigma: number; requests: number; wrong: number };
  environment: Record<string, string | number>;
  variants: VariantResult[];
  targets: { specialist: number; specialistMet: boolean; cascade: number; cascadeMet: boolean; escalation: number; escalationMet: boolean };
  seconds: number;
}

/**
 * The distillation flywheel under the email corpus's temporal drift. Version 1 is trained on period 1; period 2
 * then arrives in order through the cascade of a real server, twice: once left alone, once with the retrainer
 * exporting, training, gating and hot-swapping every `every` escalations over the first half. The second half is
 * held out: the version the loop ended with serves it frozen, and its scores are the targets'.
 */
export async function runFlywheel(options: FlywheelOptions): Promise<FlywheelResult> {
  const { log } = options;
  const started = performance.now();
  const work = options.workDir ?? (await mkdtemp(join(tmpdir(), "flywheel-")));
  await mkdir(work, { recursive: true });
  const data = await loadDriftData(options.seed, options.order);
  const files = { train: join(work, "period1-train.jsonl"), validation: join(work, "period1-validation.jsonl"), golden: join(work, "period1-golden.jsonl") };
  await writeLabelledJsonl(files.train, data.period1.train);
  await writeLabelledJsonl(files.validation, data.period1.validation);
  await writeLabelledJsonl(files.golden, data.period1.golden);

  const repository = join(work, "models");
  const modelDir = join(repository, options.model);
  log(`training version 1 on period 1 (${data.period1.train.length} train, ${data.period1.validation.length} validation)`);
  await trainVersion(options.cli, {
    name: options.model, version: "1", output: join(modelDir, "1"), data: files.train, validation: files.validation, test: files.golden,
    seed: options.seed, frontierPrompt: options.frontierPrompt, targetAccuracy: options.targetAccuracy,
  });
  const v1 = JSON.parse(await readFile(join(modelDir, "1", "metrics.json"), "utf8")) as TrainingMetrics;
  const manifest = await readManifest(join(modelDir, "1"));
  const prompt = await loadFrontierPrompt(join(modelDir, "1"), manifest.escalation.prompt, manifest.labels);
  const stream = [...data.period2.first, ...data.period2.second];

  let sim: SimFrontier | undefined;
  if (options.frontier.kind === "stand-in" || (options.frontier.kind === "sim" && options.frontier.errors !== "gold")) {
    throw new Error("bench flywheel takes sim-gold or a real provider as its frontier");
  }
  if (options.frontier.kind === "sim") {
    const gold = new Map(stream.map((e) => [prompt.render(e.text).user, e.label]));
    sim = await new SimFrontier({ labels: manifest.labels, goldOf: (user) => gold.get(user), ...options.frontier }).start();
  }
  const provider = providerFor(options.frontier, sim?.url, options.frontierTimeoutMs);
  const configFor = (ledgerPath: string): ServerConfigInput => ({
    server: { host: "127.0.0.1", port: 0, requestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000, maxRequestDeadlineMs: options.frontierTimeoutMs * 2 + 1_000 },
    models: { repository, serve: [options.model], overrides: { [options.model]: { escalation: { onLowConfidence: "escalate", provider: "flywheel" } } } },
    escalation: { providers: { flywheel: provider.settings } },
    auth: { open: { dailyBudgetUsd: 1_000, escalationsPerMinute: 1_000_000 } },
    ledger: { path: ledgerPath, storeInputs: true },
    cache: { enabled: false },
    metrics: { defaultMetrics: false },
  });

  const variants: VariantResult[] = [];
  try {
    for (const retraining of [false, true]) {
      const name = retraining ? "retraining" : "no retraining";
      const ledgerPath = join(work, `ledger-${retraining ? "retraining" : "baseline"}.sqlite`);
      const server = await options.start(configFor(ledgerPath), provider.env);
      try {
        const run = new Stream();
        const retrainer = retraining
          ? new Retrainer({
              cli: options.cli,
              modelDir,
              model: options.model,
              ledgerPath,
              workDir: work,
              baseTrain: data.period1.train,
              validationFile: files.validation,
              golden: data.period1.golden,
              frontierPrompt: options.frontierPrompt,
              targetAccuracy: options.targetAccuracy,
              seed: options.seed,
              every: options.every,
              recentHoldout: options.recentHoldout,
              margin: options.margin,
              origin: server.origin,
              position: () => run.position(),
              log,
            })
          : undefined;
        log(`${name}: first half, ${data.period2.first.length} arrivals at ${retraining ? options.rate : options.evalRate} req/s`);
        const first = await run.run(server.origin, options.model, data.period2.first, {
          rate: retraining ? options.rate : options.evalRate,
          offset: 0,
          onArrival: (a) => {
            if (a.servedBy === "frontier") retrainer?.escalated();
          },
        });
        await retrainer?.idle();
        log(`${name}: second half, ${data.period2.second.length} arrivals at ${options.evalRate} req/s, version ${retrainer?.version ?? "1"} frozen`);
        const second = await run.run(server.origin, options.model, data.period2.second, { rate: options.evalRate, offset: first.arrivals.length });
        const arrivals = [...first.arrivals, ...second.arrivals];
        const result: VariantResult = {
          name,
          arrivals,
          timeline: timeline(arrivals, options.window),
          firstHalf: score(first.arrivals),
          secondHalf: { ...score(second.arrivals), version: retrainer?.version ?? "1", errors: second.arrivals.filter((a) => a.status !== 200).length },
          steps: retrainer?.steps ?? [],
        };
        variants.push(result);
        const h = result.secondHalf;
        log(`${name}: second half: specialist ${(h.specialistAccuracy * 100).toFixed(2)}%, cascade ${(h.servedAccuracy * 100).toFixed(2)}%, escalated ${(h.escalationRate * 100).toFixed(1)}%`);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await sim?.stop();
    if (!options.workDir) await rm(work, { recursive: true, force: true });
  }

  const held = variants.find((v) => v.name === "retraining")!.secondHalf;
  const spamShare = (xs: typeof stream) => xs.filter((e) => e.label === "spam").length / Math.max(1, xs.length);
  const { frontier } = options;
  return {
    date: new Date().toISOString(),
    settings: {
      model: options.model,
      seed: options.seed,
      order: options.order,
      rate: options.rate,
      evalRate: options.evalRate,
      every: options.every,
      targetAccuracy: options.targetAccuracy,
      recentHoldout: options.recentHoldout,
      margin: options.margin,
      window: options.window,
      frontierTimeoutMs: options.frontierTimeoutMs,
      frontier: frontier.kind === "sim" ? `sim (${frontier.model} prices)` : `${frontier.kind}:${frontier.model}`,
    },
    data: {
      period1: { train: data.period1.train.length, validation: data.period1.validation.length, golden: data.period1.golden.length },
      period2: { first: data.period2.first.length, second: data.period2.second.length, spamShare: { first: spamShare(data.period2.first), second: spamShare(data.period2.second) } },
      duplicatesRemoved: data.duplicatesRemoved,
    },
    version1: { threshold: manifest.threshold, trainSeconds: v1.training.totalSeconds },
    ...(sim && options.frontier.kind === "sim"
      ? { sim: { errorRate: options.frontier.errorRate, medianMs: options.frontier.latency.medianMs, sigma: options.frontier.latency.sigma, requests: sim.stats.requests, wrong: sim.stats.wrong } }
      : {}),
    environment: { ...(await versions()), cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    variants,
    targets: {
      specialist: held.specialistAccuracy,
      specialistMet: held.specialistAccuracy >= 0.97,
      cascade: held.servedAccuracy,
      cascadeMet: held.servedAccuracy >= 0.99,
      escalation: held.escalationRate,
      escalationMet: held.escalationRate <= 0.2,
    },
    seconds: (performance.now() - started) / 1000,
  };
}
