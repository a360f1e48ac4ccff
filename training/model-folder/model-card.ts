import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelManifest } from "../../server/models/manifest.js";
import type { TrainingMetrics } from "./training-metrics.js";

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** A human-readable card: what the model is, on what data, how good, and where it is not to be trusted. */
export async function writeModelCard(dir: string, manifest: ModelManifest, m: TrainingMetrics, about: { model: string; exportCheck: string }): Promise<void> {
  const t = m.test;
  const lines = [
    `# ${manifest.name} ${manifest.version}`,
    "",
    manifest.description,
    "",
    "## Model",
    about.model,
    "",
    "## Data",
    `${m.data.source}, protocol \`${m.data.protocol}\`: ${m.data.sizes.train} train, ${m.data.sizes.validation} validation, ${m.data.sizes.test} test ` +
      `(${m.data.duplicatesRemoved} duplicate texts removed before splitting). Seed ${m.training.seed}.`,
    "",
    `Hashes: train \`${m.data.hashes.train}\`, test \`${m.data.hashes.test}\`.`,
    "",
    "## Quality on the held-out test split",
    `| accuracy | macro-F1 | ECE before → after calibration |`,
    `|---|---|---|`,
    `| ${pct(t.accuracy)} | ${t.macroF1.toFixed(4)} | ${m.calibration.testEce.before.toFixed(4)} → ${m.calibration.testEce.after.toFixed(4)} |`,
    "",
    "| label | precision | recall | F1 | support |",
    "|---|---|---|---|---|",
    ...Object.entries(t.perClass).map(([label, s]) => `| ${label} | ${pct(s.precision)} | ${pct(s.recall)} | ${s.f1.toFixed(4)} | ${s.support} |`),
    "",
    ...(Object.keys(t.perCategory).length
      ? ["| category | accuracy | support |", "|---|---|---|", ...Object.entries(t.perCategory).map(([c, s]) => `| ${c} | ${pct(s.accuracy)} | ${s.support} |`), ""]
      : []),
    "Accuracy on the most confident share of the test items:",
    "",
    "| coverage | accuracy | confidence at the cut |",
    "|---|---|---|",
    ...t.coverage.map((c) => `| ${pct(c.coverage)} | ${pct(c.accuracy)} | ${c.threshold.toFixed(4)} |`),
    "",
    "## Confidence and escalation",
    `Temperature ${m.calibration.temperature.toFixed(4)} (fitted on validation). Threshold ${m.threshold.threshold.toFixed(4)}, chosen on validation for ` +
      `${m.threshold.target.kind === "kept-accuracy" ? `accuracy on kept items ≥ ${pct(m.threshold.target.value)}` : `escalation ≤ ${pct(m.threshold.target.value)}`}` +
      ` (validation: kept accuracy ${pct(m.threshold.keptAccuracy)}, escalation ${pct(m.threshold.escalationRate)}; ` +
      `test: kept accuracy ${pct(m.threshold.test.keptAccuracy)}, escalation ${pct(m.threshold.test.escalationRate)}).`,
    "",
    "## Limits",
    "- Trained on one corpus and period: expect lower accuracy on mail from other sources or years (see the `temporal` protocol figures in the README).",
    "- Below the threshold the answer is flagged `below_threshold`; route those items to a stronger model or a person.",
    "",
    `Training took ${m.training.totalSeconds.toFixed(1)} s in all (${m.training.trainSeconds.toFixed(1)} s of optimisation, ${m.training.epochsRun} epochs, best ${m.training.bestEpoch}). ` +
      about.exportCheck,
    "",
  ];
  await writeFile(join(dir, "card.md"), lines.join("\n"));
}
