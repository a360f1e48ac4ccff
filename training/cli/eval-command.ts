import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { ServingError } from "../../server/errors/registry.js";
import { hashExamples } from "../data/hash.js";
import { loadEvaluationExamples, type EvaluationDataFlags } from "../data/evaluation-examples.js";
import type { ClassificationReport } from "../../server/evaluation/classification-metrics.js";
import { evaluateModelFolder } from "../evaluation/evaluate-model.js";
import { DEFAULT_MIN_SUPPORT, regressionGate } from "../../server/evaluation/regression-gate.js";
import { positiveInt, withEvaluationDataOptions } from "./cli-options.js";
import { findModelVersion } from "../../server/models/repository.js";
import type { TrainingMetrics } from "../model-folder/training-metrics.js";

interface EvalFlags extends EvaluationDataFlags {
  repository: string;
  baseline?: string;
  baselineModel?: string;
  margin: number;
  minSupport: number;
  output?: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function printReport(title: string, report: ClassificationReport): void {
  console.log(`${title}: ${report.count} items, accuracy ${pct(report.accuracy)}, macro-F1 ${report.macroF1.toFixed(4)}, ECE ${report.ece.toFixed(4)}`);
  for (const [label, s] of Object.entries(report.perClass)) {
    console.log(`  label ${label.padEnd(14)} precision ${pct(s.precision).padStart(7)} recall ${pct(s.recall).padStart(7)} F1 ${s.f1.toFixed(4)} (n=${s.support})`);
  }
  for (const [category, s] of Object.entries(report.perCategory)) {
    console.log(`  category ${category.padEnd(11)} accuracy ${pct(s.accuracy).padStart(7)} (n=${s.support})`);
  }
}

export function registerEval(program: Command): void {
  withEvaluationDataOptions(program.command("eval"), "test")
    .description("Evaluate a model of the repository on labelled data through the serving code; with a baseline, fail (exit 2) on a regression.")
    .option("--category-field <name>", "field for per-category scores")
    .option("--baseline <metrics.json>", "compare with a saved metrics file (metrics.json of a model, or an eval --output)")
    .option("--baseline-model <name>", "compare with another model or version of the repository (<name> or <name>/<version>), run on the same data")
    .option("--margin <x>", "largest allowed drop of any gated score (absolute)", (v) => Number(v), 0.01)
    .option("--min-support <n>", "golden items a label or category needs before its check may block", positiveInt, DEFAULT_MIN_SUPPORT)
    .option("-o, --output <file>", "write the evaluation as JSON")
    .action(async (model: string, flags: EvalFlags) => {
      const modelDir = (await findModelVersion(flags.repository, model)).dir;
      const { examples } = await loadEvaluationExamples(flags, modelDir);
      if (examples.length === 0) throw new ServingError("ERR_DATA_INVALID", "no labelled examples to evaluate");
      const dataHash = hashExamples(examples);
      const evaluation = await evaluateModelFolder(modelDir, examples);
      printReport(`${evaluation.model}@${evaluation.version}`, evaluation.report);
      console.log(`  below threshold: ${pct(evaluation.escalationRate)}; accuracy on the rest ${pct(evaluation.keptAccuracy)}; ${evaluation.seconds.toFixed(1)} s`);

      let baseline: ClassificationReport | undefined;
      if (flags.baseline) {
        const saved = JSON.parse(await readFile(flags.baseline, "utf8")) as Partial<TrainingMetrics> & { report?: ClassificationReport; dataHash?: string };
        baseline = saved.report ?? saved.test;
        if (!baseline) throw new ServingError("ERR_DATA_INVALID", `${flags.baseline}: no 'test' or 'report' section to compare with`);
        const savedHash = saved.dataHash ?? saved.data?.hashes.test;
        if (savedHash && savedHash !== dataHash) console.log(`  note: the baseline was measured on other data (${savedHash.slice(0, 19)}… vs ${dataHash.slice(0, 19)}…)`);
      } else if (flags.baselineModel) {
        const other = await evaluateModelFolder((await findModelVersion(flags.repository, flags.baselineModel)).dir, examples);
        printReport(`baseline ${other.model}@${other.version}`, other.report);
        baseline = other.report;
      }
      const gate = baseline ? regressionGate(baseline, evaluation.report, flags.margin, flags.minSupport) : undefined;
      if (gate) {
        console.log(`gate (largest allowed drop ${flags.margin}; labels and categories with fewer than ${flags.minSupport} items are not gated):`);
        for (const c of gate.checks) {
          const status = c.skipped ? "skip" : c.passed ? "ok  " : "FAIL";
          console.log(`  ${status} ${c.metric.padEnd(24)} ${c.baseline.toFixed(4)} → ${c.candidate.toFixed(4)} (${c.drop > 0 ? "-" : "+"}${Math.abs(c.drop).toFixed(4)})${c.skipped ? ` ${c.skipped}` : ""}`);
        }
      }
      if (flags.output) {
        await writeFile(flags.output, JSON.stringify({ ...evaluation, dataHash, gate }, null, 2) + "\n");
      }
      if (gate && !gate.passed) {
        throw new ServingError("ERR_EVAL_GATE_FAILED", `${gate.checks.filter((c) => !c.passed).map((c) => c.metric).join(", ")} dropped by more than ${flags.margin}`);
      }
    });
}
