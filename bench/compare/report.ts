import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { costAccuracySpec, latencyCdfSpec, renderSvg } from "./charts.js";
import { Z95, type LatencyModel } from "../sim/latency-model.js";
import type { CompareResult, FrontierArm } from "./run-compare.js";

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const usd = (x: number) => (x >= 100 ? `$${x.toFixed(0)}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`);
const percentileRange = (m: LatencyModel) => `${(m.medianMs * Math.exp(-Z95 * m.sigma)).toFixed(0)}–${(m.medianMs * Math.exp(Z95 * m.sigma)).toFixed(0)} ms`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const met = (ok: boolean) => (ok ? "**holds**" : "**does not hold**");

/** What one frontier arm is, in a sentence: where its answers and latency come from. */
function describeFrontier(f: FrontierArm): string {
  const sim = f.sim;
  const latency = sim ? `latency log-normal, median ${sim.medianMs.toFixed(0)} ms, σ ${sim.sigma.toFixed(3)} (5th–95th percentile ${percentileRange(sim)})` : "";
  const reasoning = sim?.reasoningTokens ? `, plus ${sim.reasoningTokens} hidden reasoning tokens billed as output per call (called with reasoning_effort)` : "";
  const priced = `priced as ${f.model} ($${f.price.inputUsdPerMTok}/M input, $${f.price.outputUsdPerMTok}/M output), usage counted with the o200k tokenizer${reasoning}`;
  if (f.kind === "sim" && sim?.difficulty) {
    const d = sim.difficulty;
    return `**${f.label}** (simulated, realistic): the gold label, wrong with probability min(${d.cap}, ${d.k.toFixed(3)} · d^${d.gamma}) where d = 1 − ${d.judge}'s probability of the gold label (an independent model: errors fall on the inputs it finds hard), averaging ${pct(d.mean, 2)} over the test inputs (${sim.stats.wrong} of ${sim.stats.requests} calls were wrong); ${latency}; ${priced}.`;
  }
  if (f.kind === "sim") {
    return `**${f.label}** (simulated, **upper bound**): the gold label with a flat ${pct(sim!.errorRate ?? 0, 1)} of random errors (${sim!.stats.wrong} of ${sim!.stats.requests} calls were wrong), so the inputs the cascade sends it come back nearly all right, which no real model does; ${latency}; ${priced}.`;
  }
  if (f.kind === "stand-in") {
    return `**${f.label}** (a real second model's answers, nobody chose its errors): ${sim!.standIn} classifies each escalated input (it never sees the gold label; ${sim!.stats.wrong} of ${sim!.stats.requests} calls were wrong); ${latency} (its own is milliseconds); ${priced}.`;
  }
  return `**${f.label}**: the provider itself, measured.`;
}

/** The report as Markdown; `charts` are the SVG file names written beside it. */
export function reportMarkdown(r: CompareResult, charts: { latency: string; cost: string }): string {
  const c = r.settings.costs;
  const choice = r.thresholdChoice;
  const chosen = r.arms.find((a) => a.name === r.chosen)!;
  const specialist = r.arms.find((a) => a.kind === "specialist")!;
  const s = r.sensitivity;
  const anySimulated = r.frontiers.some((f) => f.simulated);
  const lines = [
    `# Specialist vs frontier: ${r.model.name}@${r.model.version}`,
    "",
    `${r.date.slice(0, 10)} · ${r.data.name}, ${r.data.examples} examples · ${r.settings.rate} req/s open loop · frontiers: ${r.frontiers.map((f) => f.label).join(", ")}`,
    "",
    `**Threshold.** ${choice.threshold.toFixed(4)}, chosen on ${choice.data}${choice.source === "validation" ? ` (${choice.examples} examples; the lowest threshold whose kept answers reach ${pct(choice.target.value, 1)} ${choice.target.kind}: ${pct(choice.keptAccuracy!, 2)} kept accuracy, ${pct(choice.escalationRate!, 1)} escalated there)` : ""}. The test data below only reports: no figure on it chose anything. Other thresholds are shown for information.`,
    "",
    "## Frontier arms",
    "",
    ...r.frontiers.map((f) => `- ${describeFrontier(f)}`),
    "",
    ...(anySimulated ? ["> Figures of the simulated and stand-in arms are simulations of a frontier, not measurements of any provider. The specialist's figures are measured.", ""] : []),
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
    "## Which claims hold under which frontier",
    "",
    `The cascade at ${choice.threshold.toFixed(4)} against each frontier alone:`,
    "",
    "| frontier | its accuracy on the escalated inputs | cascade accuracy ≥ frontier alone | cost ≤ 10% of frontier alone | p50 ≥ 20× lower |",
    "|---|---|---|---|---|",
    ...r.frontiers.map((f) => {
      const alone = r.arms.find((a) => a.kind === "frontier" && a.frontier === f.label)!;
      const cascade = r.arms.find((a) => a.kind === "cascade" && a.frontier === f.label && a.threshold === Math.round(choice.threshold * 1e6) / 1e6)!;
      const t = f.targets;
      return `| ${f.label} | ${pct(f.accuracyOnEscalated, 1)} | ${met(t.cascadeAccuracyAtLeastFrontier)} (${pct(cascade.accuracy)} vs ${pct(alone.accuracy)}) | ${met(t.costRatioMet)} (${pct(t.costRatio, 1)}) | ${met(t.p50RatioMet)} (${t.p50Ratio.toFixed(0)}×) |`;
    }),
    "",
    "## Sensitivity: the frontier's accuracy on what is escalated",
    "",
    `At ${s.threshold.toFixed(4)} the cascade escalates ${pct(s.escalationRate, 1)} of the inputs whatever the frontier, so its cost does not move; its accuracy does. The specialist alone is ${pct(s.specialistAccuracy)} accurate, and ${pct(s.specialistAccuracyOnEscalated, 1)} on the inputs it escalates: **a frontier less accurate than that on those inputs makes the cascade worse than the specialist alone** (break-even ${pct(s.breakEvenVsSpecialist, 1)}).`,
    "",
    `Measured rows take each frontier's answers from its frontier-alone arm on the ${Math.round(s.escalationRate * r.data.examples)} inputs the cascade escalates (each is ${(100 / r.data.examples).toFixed(3)} pt of accuracy); a simulated frontier draws its errors afresh in each arm, so its cascade arm above can differ from its row by a few of those inputs. The stand-in answers the same way every time.`,
    "",
    "| frontier accuracy on escalated inputs | source | cascade accuracy | vs specialist alone |",
    "|---|---|---|---|",
    ...s.rows.map((row) => `| ${pct(row.frontierAccuracyOnEscalated, 1)} | ${row.source} | ${pct(row.cascadeAccuracy)} | ${row.cascadeAccuracy > s.specialistAccuracy ? "better" : row.cascadeAccuracy === s.specialistAccuracy ? "equal" : "worse"} (${row.cascadeAccuracy >= s.specialistAccuracy ? "+" : ""}${((row.cascadeAccuracy - s.specialistAccuracy) * 100).toFixed(2)} pt) |`),
    "",
    ...r.frontiers.map((f) => {
      const alone = r.arms.find((a) => a.kind === "frontier" && a.frontier === f.label)!;
      const b = f.targets.breakEvenAccuracyOnEscalated;
      return `- To match ${f.label} alone (${pct(alone.accuracy)} overall), the frontier needs ${b > 1 ? "more than 100%: **the cascade cannot match it** at this threshold" : `${pct(b, 1)} on the escalated inputs`}.`;
    }),
    "",
    "## How the costs are made",
    "",
    `- Specialist: host at $${c.hostUsdPerHour}/hour (an assumption: set \`--host-usd-per-hour\` to your host's price) run at ${pct(c.utilisation, 0)} of the measured capacity, ${r.capacityPerSecond.toFixed(0)} req/s (closed loop, ${r.settings.capacityClients} clients, ${r.settings.capacitySeconds} s): ${usd(specialist.hostUsdPerRequest * 1000)} per 1,000 requests.`,
    `- Frontier: the cost of each call from the usage reported${anySimulated ? " (simulated arms: o200k token counts)" : ""} × the list prices of the model each arm is priced as, as the server's ledger records it. The test inputs average ${r.data.meanInputTokens.toFixed(0)} tokens.`,
    `- Month: ${c.requestsPerDay.toLocaleString("en-US")} requests a day × ${c.daysPerMonth} days at ${c.tokensPerRequest.toLocaleString("en-US")} tokens each plus the ${r.promptOverheadTokens}-token prompt; each escalated request is one frontier call; hosts enough for the mean rate at the utilisation (at least one).`,
    "",
    "## Settings and environment",
    "",
    `- Open loop: each example sent once at ${r.settings.rate} req/s; latency from the intended send time (no coordinated omission), HDR histograms. Each way of serving ran on a fresh server (cache off). The chosen cascade: ${chosen.name}.`,
    `- Thresholds shown: ${[...new Set(r.arms.filter((a) => a.threshold !== undefined).map((a) => a.threshold))].join(", ")} (the model's own: ${r.model.threshold.toFixed(3)}); frontier call timeout ${r.settings.frontierTimeoutMs} ms, 1 retry.`,
    `- ${Object.entries(r.environment).map(([k, v]) => `${k} ${v}`).join(" · ")}`,
    "",
  ];
  return lines.join("\n");
}

/** Writes `<base>.json`, `<base>.md` and the two SVG charts beside them. */
export async function writeReport(result: CompareResult, base: string): Promise<string[]> {
  await mkdir(dirname(base), { recursive: true });
  const name = basename(base);
  const charts = { latency: `${name}-latency.svg`, cost: `${name}-cost-accuracy.svg` };
  const suffix = result.frontiers.some((f) => f.simulated) ? " (frontier simulated)" : "";
  const latencyRows = result.arms.flatMap((a) => a.load.cdf.map((p) => ({ series: a.name, ms: Math.max(p.ms, 0.01), percentile: p.percentile })));
  const costRows = result.arms.map((a) => ({ name: a.name, kind: a.kind, usdPer1000: Math.max(a.usdPer1000, 1e-9), accuracy: a.accuracy }));
  const files = [`${base}.json`, `${base}.md`, `${dirname(base)}/${charts.latency}`, `${dirname(base)}/${charts.cost}`];
  await writeFile(files[0]!, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files[1]!, reportMarkdown(result, charts));
  await writeFile(files[2]!, await renderSvg(latencyCdfSpec(`Latency CDF, ${result.settings.rate} req/s open loop${suffix}`, latencyRows)));
  await writeFile(files[3]!, await renderSvg(costAccuracySpec(`Cost vs accuracy${suffix}`, costRows)));
  return files;
}
