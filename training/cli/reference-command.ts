import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { ServingError } from "../../server/errors/registry.js";
import { findModelVersion } from "../../server/models/repository.js";
import { driftReferenceOf, type DriftReference } from "../../server/monitoring/drift-statistics.js";
import { loadEvaluationExamples, type EvaluationDataFlags } from "../data/evaluation-examples.js";
import { predictWithModelFolder } from "../evaluation/evaluate-model.js";
import { withEvaluationDataOptions } from "./cli-options.js";

interface ReferenceFlags extends EvaluationDataFlags {
  repository: string;
  dryRun?: boolean;
}

/** The model's answers on held-out data through the serving backend, as the drift reference. */
export async function computeReference(modelDir: string, flags: EvaluationDataFlags): Promise<DriftReference> {
  const { examples, name } = await loadEvaluationExamples(flags, modelDir);
  if (examples.length === 0) throw new ServingError("ERR_DATA_INVALID", "no examples to compute a reference on");
  const { manifest, predictions } = await predictWithModelFolder(modelDir, examples);
  return driftReferenceOf(
    predictions.map((p) => ({ label: p.predicted, confidence: p.confidence })),
    manifest.labels,
    manifest.threshold,
    `${name}: predicted labels and calibrated confidences (specialist reference)`,
  );
}

export function registerReference(program: Command): void {
  // The validation split by default: the held-out data the threshold was chosen on. Labels are checked, not used.
  withEvaluationDataOptions(program.command("reference"), "validation")
    .description("Write a model's drift reference (its answers on held-out data: label shares, confidence histogram, share below the threshold) into its metrics.json. `train` writes one; this is for models made before, or on other data.")
    .option("--dry-run", "print the reference, write nothing")
    .action(async (model: string, flags: ReferenceFlags) => {
      const modelDir = (await findModelVersion(flags.repository, model)).dir;
      const reference = await computeReference(modelDir, flags);
      console.log(JSON.stringify(reference, null, 2));
      if (flags.dryRun) return;
      const file = join(modelDir, "metrics.json");
      const metrics = await readFile(file, "utf8").then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}));
      await writeFile(file, `${JSON.stringify({ ...metrics, reference }, null, 2)}\n`);
      console.log(`wrote the reference into ${file}`);
    });
}
