import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { int } from "../../training/cli/cli-options.js";
import { CLI_ENTRY } from "../cli-entry.js";
import { versions } from "../compare/versions.js";
import { runFleetScenario } from "../fleet/fleet-scenario.js";
import { runFleetBench } from "../fleet/run-fleet-bench.js";

interface FleetBenchFlags {
  clients: number;
  latencyClients: number;
  seconds: number;
  rounds: number;
  replicas: string;
  repository: string;
  output: string;
}

export function registerFleetBench(bench: Command): void {
  bench
    .command("fleet")
    .description(
      "Replicas sharing PostgreSQL and Redis behind haproxy (Debian packages): the books through a kill -9 (spend vs budget, calls vs rows, rows lost, rate-limit overshoot), then cascaded throughput with 1, 2, 3 replicas and the latency the shared state adds to an escalation.",
    )
    .option("--clients <n>", "closed-loop clients of the throughput runs", int, 32)
    .option("--latency-clients <n>", "clients of the embedded vs shared latency runs", int, 1)
    .option("--seconds <n>", "seconds of each run", int, 8)
    .option("--rounds <n>", "alternated rounds of each measurement", int, 3)
    .option("--replicas <list>", "replica counts of the throughput runs", "1,2,3")
    .option("--repository <dir>", "model repository", "models")
    .option("-o, --output <file>", "JSON results", "bench/results/fleet.json")
    .action(async (flags: FleetBenchFlags) => {
      const modelsDir = resolve(flags.repository);
      const log = (line: string) => console.log(line);
      const books = await runFleetScenario({ command: [CLI_ENTRY], modelsDir, log });
      for (const t of books.tenants) console.log(`tenant ${t.tenant}: spent ${t.committedUsd.toFixed(9)} of ${t.budgetUsd} USD (${t.reservedUsd} reserved)`);
      console.log(`provider calls ${books.providerCalls}, write-ahead rows ${books.callRows.total} (${books.callRows.unknownOutcome} unknown outcome), calls without a row ${books.callsWithoutRow}, acknowledged rows lost ${books.acknowledgedRowsLost}`);
      console.log(`rate limit ${books.rateLimit.perMinute}/min: ${books.rateLimit.escalated} of ${books.rateLimit.requests} escalated (overshoot ${books.rateLimit.overshoot}); kill switch: ${books.killSwitch.escalated} of ${books.killSwitch.requests} escalated after the flip`);
      const replicas = flags.replicas.split(",").map((n) => Number(n));
      const load = await runFleetBench({ command: [CLI_ENTRY], modelsDir, clients: flags.clients, latencyClients: flags.latencyClients, seconds: flags.seconds, rounds: flags.rounds, replicas, log });
      console.log(`p50 of a cascaded request, 1 replica: ${load.p50Ms.embedded.toFixed(2)} ms embedded, ${load.p50Ms.shared.toFixed(2)} ms on PostgreSQL + Redis: +${load.p50Ms.addedPerEscalation.toFixed(2)} ms (target ≤ 2 ms: ${load.p50Ms.addedPerEscalation <= 2 ? "met" : "not met"})`);
      for (const t of load.throughput) console.log(`${t.replicas} replica(s): ${t.requestsPerSecond.toFixed(0)} req/s, p99 ${t.p99Ms.toFixed(1)} ms`);
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), settings: flags, books, ...load, targets: { addedP50AtMost2Ms: load.p50Ms.addedPerEscalation <= 2 } }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
    });
}
