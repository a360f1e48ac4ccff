import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { int } from "../../training/cli/cli-options.js";
import { childServers } from "../compare/server-starters.js";
import { versions } from "../compare/versions.js";
import { FAULT_MODES, faultMode } from "../faults/fault-modes.js";
import { FAULT_TABLE_HEADER, runFaults, type BreakerChoice } from "../faults/run-faults.js";
import { CLI_ENTRY } from "../cli-entry.js";

interface FaultFlags {
  requests: number;
  concurrency: number;
  deadlineMs: number;
  slackMs: number;
  modes: string;
  breakers: string;
  repository: string;
  model: string;
  output: string;
}

export function registerFaults(bench: Command): void {
  bench
    .command("faults")
    .description("The cascade under frontier faults: for each mode of a loopback stand-in, escalating requests through a real server; answers, time, calls vs ledger rows, spend.")
    .option("--requests <n>", "escalating requests per mode", int, 100)
    .option("--concurrency <n>", "requests in flight", int, 10)
    .option("--deadline-ms <ms>", "escalation.deadlineMs of the server", int, 3_000)
    .option("--slack-ms <ms>", "an answer this late past the budget still counts as within it", int, 250)
    .option("--modes <list>", `fault modes (${FAULT_MODES.map((m) => m.name).join(", ")})`, FAULT_MODES.map((m) => m.name).join(","))
    .option("--breakers <list>", "the provider's breaker: default (opens after 5 failures in a row), off (every request meets the fault), or both", "default,off")
    .option("--repository <dir>", "model repository", "models")
    .option("--model <name>", "model to classify with", "email-spam")
    .option("-o, --output <file>", "JSON results", "bench/results/faults.json")
    .action(async (flags: FaultFlags) => {
      const modes = flags.modes.split(",").map((m) => faultMode(m.trim()));
      const breakers = flags.breakers.split(",").map((b) => b.trim());
      for (const b of breakers) if (b !== "default" && b !== "off") throw new Error(`--breakers: '${b}' is neither default nor off`);
      console.log(`faults: ${flags.requests} escalating requests per mode, ${flags.concurrency} in flight, escalation.deadlineMs ${flags.deadlineMs}`);
      for (const line of FAULT_TABLE_HEADER) console.log(line);
      const rows = await runFaults({
        modes,
        breakers: breakers as BreakerChoice[],
        requests: flags.requests,
        concurrency: flags.concurrency,
        deadlineMs: flags.deadlineMs,
        slackMs: flags.slackMs,
        start: childServers(CLI_ENTRY),
        repository: resolve(flags.repository),
        model: flags.model,
        log: (line) => console.log(line),
      });
      const met = rows.every((r) => r.targetsMet);
      console.log(`targets (100% answered, 100% within deadlineMs + ${flags.slackMs} ms, 0 NaN, rows = calls): ${met ? "met in every mode" : "MISSED"}`);
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, rows, targetsMet: met }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
      if (!met) process.exitCode = 1;
    });
}
