import { resolve } from "node:path";
import type { Command } from "commander";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { findModelVersion } from "../../server/models/repository.js";
import { fraction, int, num } from "../../training/cli/cli-options.js";
import { loadEvaluationExamples, type EvaluationDataFlags } from "../../training/data/evaluation-examples.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { DEFAULT_COSTS } from "../compare/cost-model.js";
import { writeReport } from "../compare/report.js";
import { runCompare } from "../compare/run-compare.js";
import { childServers } from "../compare/server-starters.js";
import { frontiersFromFlags, withFrontierOptions, type FrontierOptionFlags } from "./frontier-options.js";
import { readLabelledFile } from "../../server/evaluation/labelled-file.js";
import { loadModelCorpusSplits } from "../../training/data/evaluation-examples.js";
import type { TrainingMetrics } from "../../training/model-folder/training-metrics.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CLI_ENTRY } from "../cli-entry.js";

interface CompareFlags extends EvaluationDataFlags, FrontierOptionFlags {
  repository: string;
  limit?: number;
  rate: number;
  thresholds?: string;
  capacitySeconds: number;
  capacityClients: number;
  hostUsdPerHour: number;
  utilisation: number;
  requestsPerDay: number;
  tokensPerRequest: number;
  budget: number;
  frontierTimeoutMs: number;
  validationData?: string;
  targetKeptAccuracy?: number;
  output?: string;
}

const list = (value: string) => value.split(",").map((v) => num(v.trim()));

export function registerCompare(bench: Command): void {
  withFrontierOptions(bench.command("compare"))
    .description("Specialist only, frontier only and the cascade at several thresholds, through the real server: accuracy, latency under open-loop load, cost; writes a Markdown/JSON/SVG report.")
    .argument("<model>", "<name> (its highest version) or <name>/<version>, in the repository")
    .option("--repository <dir>", "model repository", "models")
    .option("--data <file>", "labelled JSONL or CSV file")
    .option("--corpus <protocol>", "email:random or email:temporal (the model's training seed)", "email:random")
    .option("--split <name>", "with --corpus: test, validation or train", "test")
    .option("--text-field <name>", "text field in --data", "text")
    .option("--label-field <name>", "label field in --data", "label")
    .option("--seed <n>", "split seed (default: the model's); also seeds the order and the simulation", int)
    .option("--limit <n>", "use at most this many examples (a seeded random sample)", int)
    .option("--rate <n>", "open-loop arrival rate, requests per second", num, 20)
    .option("--validation-data <file>", "with --data: labelled data the cascade's threshold is chosen on (default: the model's own threshold)")
    .option("--target-kept-accuracy <x>", "accuracy the kept answers must reach on validation (default: the model's training target)", fraction)
    .option("--thresholds <list>", "cascade thresholds shown beside the chosen one, never chosen from (default 0.7,0.8,0.9,0.97,0.99)")
    .option("--capacity-seconds <n>", "seconds of the closed-loop capacity measurement", num, 10)
    .option("--capacity-clients <n>", "clients of the capacity measurement", int, 32)
    .option("--host-usd-per-hour <x>", "price of the specialist's host", num, DEFAULT_COSTS.hostUsdPerHour)
    .option("--utilisation <x>", "share of measured capacity a host runs at", fraction, DEFAULT_COSTS.utilisation)
    .option("--requests-per-day <n>", "workload of the monthly projection", int, DEFAULT_COSTS.requestsPerDay)
    .option("--tokens-per-request <n>", "input tokens per workload request", int, DEFAULT_COSTS.tokensPerRequest)
    .option("--budget <usd>", "daily frontier budget of the benchmark's tenant (real providers spend it)", num, 50)
    .option("--frontier-timeout-ms <n>", "timeout of one frontier call", int, 20_000)
    .option("-o, --output <base>", "report files: <base>.md, .json, -latency.svg, -cost-accuracy.svg (default bench/results/compare-<model>)")
    .action(async (model: string, flags: CompareFlags) => {
      const repository = resolve(flags.repository);
      const entry = await findModelVersion(repository, model);
      const loaded = await loadEvaluationExamples(flags, entry.dir);
      const seed = flags.seed ?? 1;
      let examples = shuffleInPlace([...loaded.examples], createRng(seed));
      if (flags.limit !== undefined) examples = examples.slice(0, flags.limit);
      const frontiers = frontiersFromFlags(flags, seed);
      const thresholds = flags.thresholds ? list(flags.thresholds) : [0.7, 0.8, 0.9, 0.97, 0.99];
      const result = await runCompare({
        repository,
        model: entry.manifest.name,
        version: entry.manifest.version,
        examples,
        dataName: `${loaded.name}${flags.limit !== undefined ? " (seeded sample)" : ""}`,
        frontiers,
        standIn: flags.standIn,
        ...(await validationFor(flags, entry.dir)),
        target: { kind: "kept-accuracy", value: flags.targetKeptAccuracy ?? (await trainingTarget(entry.dir)) },
        rate: flags.rate,
        thresholds,
        capacitySeconds: flags.capacitySeconds,
        capacityClients: flags.capacityClients,
        costs: { ...DEFAULT_COSTS, hostUsdPerHour: flags.hostUsdPerHour, utilisation: flags.utilisation, requestsPerDay: flags.requestsPerDay, tokensPerRequest: flags.tokensPerRequest },
        budgetUsd: flags.budget,
        frontierTimeoutMs: flags.frontierTimeoutMs,
        start: childServers(CLI_ENTRY),
        log: (line) => console.log(line),
      });
      const files = await writeReport(result, flags.output ?? `bench/results/compare-${entry.manifest.name}`);
      for (const f of result.frontiers) {
        console.log(`against ${f.label}: cascade cost ${(f.targets.costRatio * 100).toFixed(1)}% of frontier-only, p50 ${f.targets.p50Ratio.toFixed(0)}× lower, accuracy ≥ frontier: ${f.targets.cascadeAccuracyAtLeastFrontier}`);
      }
      console.log(`wrote ${files.join(", ")}`);
    });
}

/** The validation data the threshold is chosen on: the corpus's validation split beside its test split, or a file. */
async function validationFor(flags: CompareFlags, modelDir: string): Promise<{ validation?: { examples: LabelledExample[]; name: string } }> {
  if (flags.validationData) {
    return { validation: { examples: await readLabelledFile(flags.validationData, { textField: flags.textField, labelField: flags.labelField }), name: flags.validationData } };
  }
  if (flags.data || flags.split !== "test") return {};
  const { splits, seed } = await loadModelCorpusSplits(flags.corpus, modelDir, flags.seed);
  return { validation: { examples: splits.validation, name: `${flags.corpus} validation split (seed ${seed})` } };
}

/** The kept accuracy the model's threshold was chosen for at training (metrics.json), else 0.99. */
async function trainingTarget(modelDir: string): Promise<number> {
  try {
    const metrics = JSON.parse(await readFile(join(modelDir, "metrics.json"), "utf8")) as TrainingMetrics;
    return metrics.threshold.target.kind === "kept-accuracy" ? metrics.threshold.target.value : 0.99;
  } catch {
    return 0.99;
  }
}
