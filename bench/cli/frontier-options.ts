import { InvalidArgumentError, type Command } from "commander";
import { num } from "../../training/cli/cli-options.js";
import { parseFrontiers, type FrontierSpec } from "../compare/frontier-spec.js";
import { fromRange } from "../sim/latency-model.js";

/** The flags that choose the frontier a benchmark escalates to. */
export interface FrontierOptionFlags {
  frontier: string;
  frontierModel?: string;
  apiKeyEnv?: string;
  simModel: string;
  simLatency: string;
  simErrorRate: number;
  simReasoningTokens: number;
  standIn: string;
}

/** Adds the frontier flags every benchmark that escalates shares. */
export function withFrontierOptions(command: Command): Command {
  return command
    .option("--frontier <spec>", "sim (three stand-ins), sim-gold, sim-difficulty, stand-in, openai:<model>, anthropic:<model>, or an OpenAI-compatible base URL", "sim")
    .option("--frontier-model <name>", "model name with a base URL")
    .option("--api-key-env <name>", "environment variable with the frontier's key (default OPENAI_API_KEY / ANTHROPIC_API_KEY / FRONTIER_API_KEY)")
    .option("--sim-model <name>", "sim: the model whose prices the simulated calls are charged at", "gpt-5")
    .option("--sim-latency <p5,p95>", "sim: 5th and 95th percentile of the log-normal call latency, ms", "800,5000")
    .option("--sim-error-rate <x>", "sim: share of wrong answers (sim-difficulty: their mean)", num, 0.02)
    .option("--sim-reasoning-tokens <n>", "sim: hidden reasoning tokens billed per call, as a reasoning model spends them (called with reasoning_effort)", num, 0)
    .option("--stand-in <model>", "stand-in: the repository model answering for the frontier (and, for sim-difficulty, judging how hard each input is)", "email-spam-llama");
}

/** The frontiers the flags name (the first is the one the threshold sweep runs against); `seed` seeds the simulations. */
export function frontiersFromFlags(flags: FrontierOptionFlags, seed: number): FrontierSpec[] {
  const [p5, p95] = flags.simLatency.split(",").map((v) => num(v.trim()));
  if (p5 === undefined || p95 === undefined || !(p5 > 0 && p95 > p5)) throw new InvalidArgumentError("--sim-latency must be <p5>,<p95> in ms with 0 < p5 < p95");
  return parseFrontiers(flags.frontier, { ...flags, simLatency: fromRange(p5, p95), seed });
}
