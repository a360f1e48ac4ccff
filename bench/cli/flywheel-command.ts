import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { fraction, int, num } from "../../training/cli/cli-options.js";
import { childServers } from "../compare/server-starters.js";
import { writeFlywheelReport } from "../flywheel/flywheel-report.js";
import { runFlywheel } from "../flywheel/run-flywheel.js";
import { frontiersFromFlags, withFrontierOptions, type FrontierOptionFlags } from "./frontier-options.js";
import { CLI_ENTRY } from "../cli-entry.js";

interface FlywheelFlags extends FrontierOptionFlags {
  name: string;
  order: string;
  seed: number;
  every: number;
  targetAccuracy: number;
  recentHoldout: number;
  margin: number;
  rate: number;
  evalRate: number;
  window: number;
  frontierTimeoutMs: number;
  frontierPrompt: string;
  workDir?: string;
  output: string;
}

export function registerFlywheel(bench: Command): void {
  withFrontierOptions(bench.command("flywheel"))
    .description("The distillation flywheel under the email corpus's temporal drift: retrain from escalations (export → train → eval gate → hot swap) while serving; writes a Markdown/JSON/SVG report.")
    .option("--name <model>", "name of the model the loop trains and serves", "email-spam-drift")
    .option("--order <order>", "period-2 order: received (arrival time) or shuffled (seeded)", "received")
    .option("--seed <n>", "seed of the period-1 split, training, the shuffled order and the simulation", int, 1)
    .option("--every <n>", "answered escalations between two retrainings", int, 50)
    .option("--target-accuracy <x>", "validation accuracy each version's threshold keeps (train --target-accuracy)", fraction, 0.995)
    .option("--recent-holdout <n>", "newest escalations kept out of a round's training for its gate", int, 20)
    .option("--margin <x>", "largest drop the gate allows on any gated score (absolute)", fraction, 0.01)
    .option("--rate <n>", "arrival rate while the loop runs, requests per second", num, 5)
    .option("--eval-rate <n>", "arrival rate of the held-out half and of the variant without retraining", num, 20)
    .option("--window <n>", "arrivals per point of the timeline", int, 100)
    .option("--frontier-timeout-ms <n>", "timeout of one frontier call", int, 20_000)
    .option("--frontier-prompt <file>", "escalation prompt template of the trained versions", "training/prompts/email-spam.txt")
    .option("--work-dir <dir>", "keep models, ledgers and training files here (default: a temporary folder, removed)")
    .option("-o, --output <base>", "report files: <base>.md, .json, -timeline.svg", "bench/results/flywheel-email-spam")
    .action(async (flags: FlywheelFlags) => {
      if (flags.order !== "received" && flags.order !== "shuffled") throw new InvalidArgumentError("--order must be received or shuffled");
      const result = await runFlywheel({
        cli: [CLI_ENTRY],
        frontierPrompt: resolve(flags.frontierPrompt),
        model: flags.name,
        seed: flags.seed,
        order: flags.order,
        // The flywheel's teacher: the gold table with a flat error rate under `sim` (its drift is the subject here).
        frontier: frontiersFromFlags({ ...flags, frontier: flags.frontier === "sim" ? "sim-gold" : flags.frontier }, flags.seed)[0]!,
        rate: flags.rate,
        evalRate: flags.evalRate,
        every: flags.every,
        targetAccuracy: flags.targetAccuracy,
        recentHoldout: flags.recentHoldout,
        margin: flags.margin,
        window: flags.window,
        frontierTimeoutMs: flags.frontierTimeoutMs,
        start: childServers(CLI_ENTRY),
        ...(flags.workDir ? { workDir: resolve(flags.workDir) } : {}),
        log: (line) => console.log(line),
      });
      const files = await writeFlywheelReport(result, flags.output);
      const t = result.targets;
      console.log(`second half: specialist ${(t.specialist * 100).toFixed(2)}%, cascade ${(t.cascade * 100).toFixed(2)}%, escalated ${(t.escalation * 100).toFixed(1)}%`);
      console.log(`wrote ${files.join(", ")}`);
    });
}
