import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { costAccuracySpec, latencyCdfSpec, renderSvg } from "./charts.js";
import { DEFAULT_SIM_LATENCY, Z95, type LatencyModel } from "../sim/latency-model.js";
import type { CompareResult } from "./run-compare.js";

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const usd = (x: number) => (x >= 100 ? `$${x.toFixed(0)}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`);
const percentileRange = (m: LatencyModel) => `${(m.medianMs * Math.exp(-Z95 * m.sigma)).toFixed(0)}–${(m.medianMs * Math.exp(Z95 * m.sigma)).toFixed(0)} ms`;
const DEFAULT_RANGE = percentileRange(DEFAULT_SIM_LATENCY);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** The report as Markdown; `charts` are the SVG file names written beside it. */
export function reportMarkdown(r: CompareResult, charts: { latency: string; cost: string }): string {
  const sim = r.frontier.sim;
  const label = r.frontier.simulated ? " (simulated)" : "";
  const c = r.settings.costs;
  const lines = [
    `# Specialist vs frontier: ${r.model.name}@${r.model.version}`,
    "",
    `${r.date.slice(0, 10)} · ${r.data.name}, ${r.data.examples} examples · frontier: ${r.frontier.kind === "sim" ? `**simulated** (${r.frontier.model} prices)` : `${r.frontier.kind}:${r.frontier.model}`} · ${r.settings.rate} req/s open loop`,
    "",
  ];
  if (sim) {
    const range = percentileRange(sim);
    lines.push(
      `> **Simulated frontier.** Every frontier figure below (its accuracy, latency and cost, and the cascade's where it escalates) comes from a local simulation: answers wrong at a rate of ${pct(sim.errorRate, 1)} (${sim.stats.wrong} of ${sim.stats.requests} calls were), latency log-normal with median ${sim.medianMs.toFixed(0)} ms and σ ${sim.sigma.toFixed(3)} (5th–95th percentile ${range}${range === DEFAULT_RANGE ? ", the typical range of a frontier call" : `; the default, ${DEFAULT_RANGE}, is the typical range of a frontier call`}), usage counted with the o200k tokenizer and priced from the table ${r.frontier.priceTable}. It is not a measurement of any provider. The specialist's figures are measured.`,
      "",
    );
  }
  lines.push(
    "| serving | accuracy | macro-F1 | escalated | degraded | p50 ms | p95 ms | p99 ms | errors | USD / 1,000 req | USD / month (workload) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...r.arms.map((a) => {
      const name = a.name === r.chosen ? `**${a.name}** (chosen)` : a.name;
      const l = a.load.latencyMs;
      return `| ${name} | ${pct(a.accuracy)} | ${a.macroF1.toFixed(4)} | ${pct(a.escalationRate, 1)} | ${pct(a.degradedRate, 1)} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${a.errors} | ${usd(a.usdPer1000)} | ${usd(a.monthly.totalUsd)} |`;
    }),
    "",
    `![latency CDF](${charts.latency})`,
    "",
    `![cost vs accuracy](${charts.cost})`,
    "",
    "## Targets",
    "",
    `At the chosen threshold (${r.chosen}: the most accurate cascade, the cheaper of equals):`,
    "",
    `- cascade accuracy ≥ frontier-only accuracy${label}: ${r.targets.cascadeAccuracyAtLeastFrontier ? "**met**" : "**not met**"} (${pct(r.arms.find((a) => a.name === r.chosen)!.accuracy)} vs ${pct(r.arms.find((a) => a.kind === "frontier")!.accuracy)})`,
    `- cost ≤ 10% of frontier-only${label}: ${r.targets.costRatioMet ? "**met**" : "**not met**"} (${pct(r.targets.costRatio, 1)} per 1,000 requests)`,
    `- p50 latency ≥ 20× lower than frontier-only${label}: ${r.targets.p50RatioMet ? "**met**" : "**not met**"} (${r.targets.p50Ratio.toFixed(0)}×)`,
    "",
    "## How the costs are made",
    "",
    `- Specialist: host at $${c.hostUsdPerHour}/hour (an assumption: set \`--host-usd-per-hour\` to your host's price) run at ${pct(c.utilisation, 0)} of the measured capacity, ${r.capacityPerSecond.toFixed(0)} req/s (closed loop, ${r.settings.capacityClients} clients, ${r.settings.capacitySeconds} s): ${usd(r.arms[0]!.hostUsdPerRequest * 1000)} per 1,000 requests.`,
    `- Frontier: the cost of each call from the provider's usage${r.frontier.simulated ? " (simulated: o200k token counts)" : ""} × ${r.frontier.model} list prices ($${r.frontier.price.inputUsdPerMTok}/M input, $${r.frontier.price.outputUsdPerMTok}/M output, table ${r.frontier.priceTable}), as the server's ledger records it. The test inputs average ${r.data.meanInputTokens.toFixed(0)} tokens.`,
    `- Month: ${c.requestsPerDay.toLocaleString("en-US")} requests a day × ${c.daysPerMonth} days at ${c.tokensPerRequest.toLocaleString("en-US")} tokens each plus the ${r.promptOverheadTokens}-token prompt; each escalated request is one frontier call; hosts enough for the mean rate at the utilisation (at least one).`,
    "",
    "## Settings and environment",
    "",
    `- Open loop: each example sent once at ${r.settings.rate} req/s; latency from the intended send time (no coordinated omission), HDR histograms. Each way of serving ran on a fresh server (cache off).`,
    `- Thresholds: ${r.settings.thresholds.join(", ")} (the model's own: ${r.model.threshold.toFixed(3)}); frontier call timeout ${r.settings.frontierTimeoutMs} ms, 1 retry.`,
    `- ${Object.entries(r.environment).map(([k, v]) => `${k} ${v}`).join(" · ")}`,
    "",
  );
  return lines.join("\n");
}

/** Writes `<base>.json`, `<base>.md` and the two SVG charts beside them. */
export async function writeReport(result: CompareResult, base: string): Promise<string[]> {
  await mkdir(dirname(base), { recursive: true });
  const name = basename(base);
  const charts = { latency: `${name}-latency.svg`, cost: `${name}-cost-accuracy.svg` };
  const suffix = result.frontier.simulated ? " (frontier simulated)" : "";
  const latencyRows = result.arms.flatMap((a) => a.load.cdf.map((p) => ({ series: a.name, ms: Math.max(p.ms, 0.01), percentile: p.percentile })));
  const costRows = result.arms.map((a) => ({ name: a.name, kind: a.kind, usdPer1000: Math.max(a.usdPer1000, 1e-9), accuracy: a.accuracy }));
  const files = [`${base}.json`, `${base}.md`, `${dirname(base)}/${charts.latency}`, `${dirname(base)}/${charts.cost}`];
  await writeFile(files[0]!, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files[1]!, reportMarkdown(result, charts));
  await writeFile(files[2]!, await renderSvg(latencyCdfSpec(`Latency CDF, ${result.settings.rate} req/s open loop${suffix}`, latencyRows)));
  await writeFile(files[3]!, await renderSvg(costAccuracySpec(`Cost vs accuracy${suffix}`, costRows)));
  return files;
}
