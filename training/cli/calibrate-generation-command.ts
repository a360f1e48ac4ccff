import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { answerLogScore } from "../../server/backends/answer-confidence.js";
import type { ModelBackend } from "../../server/backends/backend.js";
import { ServingError } from "../../server/errors/registry.js";
import { findModelVersion } from "../../server/models/repository.js";
import { calibrateGeneration, EMPTY_ANSWER_SCORE, isRightAnswer, type ScoredAnswer } from "../calibration/generation-calibration.js";
import { readGenerationExamples, type GenerationExample } from "../data/generation-examples.js";
import { openModelFolder } from "../evaluation/evaluate-model.js";
import { createRng, shuffleInPlace } from "../random.js";
import { fraction, positiveInt } from "./cli-options.js";

interface Flags {
  repository: string;
  data: string;
  score: "mean" | "min" | "label";
  targetAccuracy: number;
  validationShare: number;
  maxTokens: number;
  seed: number;
  report?: string;
}

/** The model's greedy answer to each example, scored as serving scores it, a few at a time (its sequences). */
async function scoreAnswers(backend: ModelBackend, examples: GenerationExample[], flags: Flags): Promise<Array<ScoredAnswer & { answer: string }>> {
  const generate = backend.generate;
  if (!generate) throw new ServingError("ERR_MODEL_CANNOT_GENERATE", `model '${backend.manifest.name}' does not generate text`);
  const out: Array<ScoredAnswer & { answer: string }> = new Array(examples.length);
  let next = 0;
  const lane = async () => {
    while (next < examples.length) {
      const i = next++;
      const e = examples[i]!;
      const result = await generate.call(backend, {
        ...(e.prompt !== undefined ? { prompt: e.prompt } : { messages: e.messages! }),
        ...(e.schema ? { jsonSchema: e.schema } : {}),
        maxTokens: flags.maxTokens,
        temperature: 0,
        logprobs: 0,
      }, { deadline: Infinity });
      const logScore = answerLogScore(result.text, result.logprobs ?? [], flags.score, e.schema) ?? EMPTY_ANSWER_SCORE;
      out[i] = { answer: result.text, logScore, correct: isRightAnswer(result.text, e.expected) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, backend.placement.workers) }, lane));
  return out;
}

export function registerCalibrateGeneration(program: Command): void {
  program
    .command("calibrate-generation")
    .description(
      "Fit a generating model's answer confidence on labelled prompts: the temperature and escalation threshold are chosen on the validation share, the rest only reports; writes model.json's generation block.",
    )
    .argument("<model>", "<name> (its highest version) or <name>/<version>, in the repository")
    .option("--repository <dir>", "model repository", "models")
    .requiredOption("--data <file>", 'JSONL: {"prompt" or "messages", "expected" (text or JSON), "schema"?} per line (not your test set)')
    .option("--score <how>", "mean, min, or label (JSON answers: the tokens of the schema's enum values)", "mean")
    .option("--target-accuracy <rate>", "accuracy the answers kept (not escalated) should reach on validation", (v) => Number(v), 0.95)
    .option("--validation-share <share>", "share of the lines the temperature and threshold are chosen on", fraction, 0.5)
    .option("--max-tokens <n>", "longest answer generated", positiveInt, 64)
    .option("--seed <n>", "seed of the validation/report split", positiveInt, 1)
    .option("--report <file>", "write the split's line numbers, every answer and the figures as JSON")
    .action(async (model: string, flags: Flags) => {
      if (!["mean", "min", "label"].includes(flags.score)) throw new InvalidArgumentError("--score must be mean, min or label");
      if (!(flags.targetAccuracy > 0 && flags.targetAccuracy <= 1)) throw new InvalidArgumentError("--target-accuracy must be in (0, 1]");
      const { dir } = await findModelVersion(flags.repository, model);
      const examples = shuffleInPlace(await readGenerationExamples(flags.data), createRng(flags.seed));
      const cut = Math.round(examples.length * flags.validationShare);
      if (cut < 2) throw new ServingError("ERR_DATA_INVALID", `${flags.data}: ${examples.length} lines give ${cut} for validation; at least 2 are needed`);
      const backend = await openModelFolder(dir);
      let scored: Awaited<ReturnType<typeof scoreAnswers>>;
      try {
        scored = await scoreAnswers(backend, examples, flags);
      } finally {
        await backend.dispose();
      }
      const result = calibrateGeneration(scored.slice(0, cut), scored.slice(cut), { kind: "kept-accuracy", value: flags.targetAccuracy });
      const block = { score: flags.score, temperature: result.temperature, threshold: result.threshold.threshold };
      const manifestPath = join(dir, "model.json");
      const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
      await writeFile(manifestPath, JSON.stringify({ ...manifest, generation: block }, null, 2) + "\n");
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      const validationRight = scored.slice(0, cut).filter((a) => a.correct).length;
      console.log(`${examples.length} lines: ${cut} for validation (${validationRight} answered right), ${examples.length - cut} report only`);
      console.log(`temperature ${result.temperature.toFixed(3)} (validation ECE ${result.validationEce.before.toFixed(3)} → ${result.validationEce.after.toFixed(3)})`);
      console.log(`threshold ${result.threshold.threshold.toFixed(4)}: validation kept accuracy ${pct(result.threshold.keptAccuracy)}, ${pct(result.threshold.escalationRate)} escalated${result.threshold.met ? "" : " (target not met)"}`);
      if (result.test.count > 0) {
        console.log(`report lines: accuracy ${pct(result.test.accuracy)}, kept accuracy ${pct(result.test.keptAccuracy)}, ${pct(result.test.escalationRate)} escalated, ECE ${result.test.ece.before.toFixed(3)} → ${result.test.ece.after.toFixed(3)}`);
      }
      console.log(`written to ${manifestPath}: generation ${JSON.stringify(block)}`);
      if (flags.report) {
        const lines = (from: number, to?: number) => examples.slice(from, to).map((e) => e.line).sort((a, b) => a - b);
        const answers = scored.map((a, i) => ({ line: examples[i]!.line, answer: a.answer, logScore: a.logScore, correct: a.correct }));
        await writeFile(flags.report, JSON.stringify({ model: dir, generation: block, ...result, validationLines: lines(0, cut), reportLines: lines(cut), answers }, null, 2) + "\n");
      }
    });
}
