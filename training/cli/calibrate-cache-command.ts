import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findModelVersion } from "../../server/models/repository.js";
import { InvalidArgumentError, type Command } from "commander";
import { ServingError } from "../../server/errors/registry.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { readLabelledFile } from "../../server/evaluation/labelled-file.js";
import { calibrateSemanticCache } from "../calibration/semantic-calibration.js";
import { loadModelCorpusSplits } from "../data/evaluation-examples.js";

interface CalibrateFlags {
  repository: string;
  data?: string;
  corpus?: string;
  textField: string;
  labelField: string;
  target: number;
}

/** Calibration data: a labelled file, or the corpus's train and validation splits (the test split only reports). */
async function calibrationExamples(flags: CalibrateFlags, modelDir: string): Promise<{ examples: LabelledExample[]; name: string }> {
  if (flags.data) return { examples: await readLabelledFile(flags.data, { textField: flags.textField, labelField: flags.labelField }), name: flags.data };
  const { splits, seed } = await loadModelCorpusSplits(flags.corpus, modelDir);
  return { examples: [...splits.train, ...splits.validation], name: `${flags.corpus} train+validation splits (seed ${seed})` };
}

export function registerCalibrateCache(program: Command): void {
  program
    .command("calibrate-cache")
    .description(
      "Choose a model's semantic-cache similarity threshold on labelled data for a target false-hit rate, and write it to its model.json (exit 2, nothing written, when no threshold meets the target).",
    )
    .argument("<model>", "<name> (its highest version) or <name>/<version>, in the repository")
    .option("--repository <dir>", "model repository", "models")
    .option("--data <file>", "labelled JSONL or CSV file (not your test set)")
    .option("--corpus <protocol>", "email:random or email:temporal: its train and validation splits")
    .option("--text-field <name>", "text field in --data", "text")
    .option("--label-field <name>", "label field in --data", "label")
    .option("--target <rate>", "largest false-hit rate (95% upper bound) among hits", (v) => Number(v), 0.005)
    .action(async (model: string, flags: CalibrateFlags) => {
      if (!(flags.target > 0 && flags.target < 1)) throw new InvalidArgumentError("--target must be between 0 and 1");
      const modelDir = (await findModelVersion(flags.repository, model)).dir;
      const { examples, name } = await calibrationExamples(flags, modelDir);
      if (examples.length < 2) throw new ServingError("ERR_DATA_INVALID", `${name}: at least 2 labelled examples are needed`);
      const { block, pairs } = calibrateSemanticCache(examples, flags.target, name);
      console.log(`${examples.length} examples from ${name}, ${pairs} nearest-neighbour pairs`);
      if (!block) {
        console.log(`no similarity threshold keeps the false-hit rate under ${flags.target} with 95% confidence: model.json unchanged, the semantic cache stays off for ${model}`);
        process.exitCode = 2;
        return;
      }
      const manifestPath = join(modelDir, "model.json");
      const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
      await writeFile(manifestPath, JSON.stringify({ ...manifest, semanticCache: block }, null, 2) + "\n");
      console.log(
        `similarity ≥ ${block.similarity.toFixed(4)}: ${block.hits} of ${pairs} pairs hit, ${block.falseHits} with another label (upper bound ${(block.falseHitUpperBound * 100).toFixed(2)}%); written to ${manifestPath}`,
      );
    });
}
