import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { renderSvg, timelineSpec } from "../compare/charts.js";
import type { FlywheelResult, VariantResult } from "./run-flywheel.js";

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const met = (ok: boolean) => (ok ? "**met**" : "**not met**");

/** How version 1, never retrained, did on the same half: what the loop's figures are to be read against. */
function baselineLine(r: FlywheelResult): string {
  const h = r.variants.find((v) => v.name === "no retraining")!.secondHalf;
  const all = h.specialistAccuracy >= 0.97 && h.servedAccuracy >= 0.99 && h.escalationRate <= 0.2;
  return (
    `Without retraining, version 1 scores ${pct(h.specialistAccuracy)} alone and ${pct(h.servedAccuracy)} in the cascade with ${pct(h.escalationRate, 1)} escalated on the same half: ` +
    (all ? "it meets the targets too, so on this order the loop's gain is the difference, not the targets." : "it does not meet the targets; the loop is what does.")
  );
}

/** The report as Markdown; `chart` is the timeline SVG's file name, written beside it. */
export function flywheelMarkdown(r: FlywheelResult, chart: string): string {
  const s = r.settings;
  const retraining = r.variants.find((v) => v.name === "retraining")!;
  const row = (v: VariantResult) => {
    const h = v.secondHalf;
    return `| ${v.name} | ${v.secondHalf.version} | ${pct(v.firstHalf.servedAccuracy)} | ${pct(v.firstHalf.escalationRate, 1)} | ${pct(h.specialistAccuracy)} | ${pct(h.servedAccuracy)} | ${pct(h.escalationRate, 1)} | ${h.errors} |`;
  };
  const lines = [
    `# Distillation flywheel under drift: ${s.model}`,
    "",
    `${r.date.slice(0, 10)} · email corpus, temporal protocol (period 1 = \`*-1\` folders, period 2 = \`*-2\`), period 2 in ${s.order === "received" ? "arrival order (the newest Received header)" : `a seeded random order (seed ${s.seed})`} · frontier: ${s.frontier} · ${(r.seconds / 60).toFixed(1)} min`,
    "",
  ];
  if (r.sim) {
    lines.push(
      `> **Simulated frontier.** Escalations are answered by a local simulation that gives the gold label except for a ${pct(r.sim.errorRate, 1)} error rate (${r.sim.wrong} of ${r.sim.requests} calls were wrong), after a log-normal delay (median ${r.sim.medianMs.toFixed(0)} ms). The labels the loop learns from carry that error; the specialist's figures are measured.`,
      "",
    );
  }
  lines.push(
    `Version 1 was trained on period 1 (${r.data.period1.train} train, ${r.data.period1.validation} validation; threshold ${r.version1.threshold.toFixed(4)}). Period 2 (${r.data.period2.first + r.data.period2.second} emails; spam ${pct(r.data.period2.spamShare.first, 0)} of the first half, ${pct(r.data.period2.spamShare.second, 0)} of the second) then arrived through the cascade of a real server, twice. With retraining, every ${s.every} answered escalations of the first half started a round of \`specialist export\` → \`specialist train\` (period-1 train + every exported escalation but the newest ${s.recentHoldout}) → \`specialist eval\` gate against the serving version → \`POST /admin/models/${s.model}/reload\`, while serving went on. The second half is held out: it is served by the version the loop ended with, frozen.`,
    "",
    "| variant | version on 2nd half | 1st half: served accuracy | 1st half: escalated | **2nd half: specialist alone** | **2nd half: cascade** | **2nd half: escalated** | errors |",
    "|---|---|---|---|---|---|---|---|",
    ...r.variants.map(row),
    "",
    `![flywheel timeline](${chart})`,
    "",
    "## Targets (second half, after the loop ran over the first)",
    "",
    `- specialist alone ≥ 97%: ${met(r.targets.specialistMet)} (${pct(r.targets.specialist)})`,
    `- cascade ≥ 99%: ${met(r.targets.cascadeMet)} (${pct(r.targets.cascade)})`,
    `- escalation ≤ 20%: ${met(r.targets.escalationMet)} (${pct(r.targets.escalation, 1)})`,
    "",
    baselineLine(r),
    "",
    "## Rounds",
    "",
    "| candidate | against | started at arrival | done at arrival | escalations exported | trained on | gate | export s | train s | gate s |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...retraining.steps.map((step) => {
      const failed = step.gate.checks.filter((c) => !c.passed).map((c) => `${c.metric} ${c.baseline.toFixed(3)} → ${c.candidate.toFixed(3)}`);
      const gate = step.passed ? "passed, swapped in" : `failed (${failed.join("; ")}), discarded`;
      return `| ${step.candidate} | ${step.baseline} | ${step.startedAt} | ${step.finishedAt} | ${step.exported} | ${step.trainedOn} | ${gate} | ${step.seconds.export.toFixed(1)} | ${step.seconds.train.toFixed(1)} | ${step.seconds.gate.toFixed(1)} |`;
    }),
    "",
    `The gate (\`specialist eval --baseline-model\`, margin ${s.margin}): accuracy, macro-F1, each label's F1 and the accuracy of each category may not fall by more than the margin, on the period-1 golden set (${r.data.period1.golden} emails never trained on) and the newest ${s.recentHoldout} escalations held out of that round.`,
    "",
    "## Settings and environment",
    "",
    `- Open loop: ${s.rate} req/s while the loop runs; ${s.evalRate} req/s on the held-out half and for the variant without retraining (where nothing depends on timing). Timeline windows of ${s.window} arrivals. Seed ${s.seed}.`,
    `- Every version's threshold is chosen to keep ${pct(s.targetAccuracy, 1)} accuracy on the period-1 validation set (\`train --target-accuracy ${s.targetAccuracy}\`), and its temperature is fitted there too; the escalation prompt is the bundled email one. Frontier call timeout ${s.frontierTimeoutMs} ms.`,
    `- ${Object.entries(r.environment).map(([k, v]) => `${k} ${v}`).join(" · ")}`,
    "",
  );
  return lines.join("\n");
}

/** Writes `<base>.json` (without the per-arrival records), `<base>.md` and `<base>-timeline.svg`. */
export async function writeFlywheelReport(result: FlywheelResult, base: string): Promise<string[]> {
  await mkdir(dirname(base), { recursive: true });
  const chart = `${basename(base)}-timeline.svg`;
  const rows = result.variants.flatMap((v) =>
    v.timeline.flatMap((p) => [
      { arrival: p.arrival, value: p.specialistAccuracy, metric: "specialist accuracy", series: v.name },
      { arrival: p.arrival, value: p.servedAccuracy, metric: "cascade accuracy", series: v.name },
      { arrival: p.arrival, value: p.escalationRate, metric: "escalation rate", series: v.name },
    ]),
  );
  const swaps = result.variants.find((v) => v.name === "retraining")!.steps.filter((s) => s.swapped);
  const markers = {
    events: swaps.map((s) => ({ arrival: s.finishedAt, label: `v${s.candidate}` })),
    phases: [{ arrival: result.data.period2.first, label: "second half: held out, frozen →" }],
  };
  const order = result.settings.order === "received" ? "arrival order" : "shuffled order";
  const suffix = result.sim ? " (frontier simulated)" : "";
  const files = [`${base}.json`, `${base}.md`, join(dirname(base), chart)];
  const json = { ...result, variants: result.variants.map(({ arrivals: _arrivals, ...v }) => v) };
  await writeFile(files[0]!, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(files[1]!, flywheelMarkdown(result, chart));
  await writeFile(files[2]!, await renderSvg(timelineSpec(`Flywheel: period 2 in ${order}, windows of ${result.settings.window}${suffix}`, rows, markers)));
  return files;
}
