import { join } from "node:path";
import type { Command } from "commander";
import { modelTokenLimit } from "../backends/onnx/position-limit.js";
import { openSession } from "../backends/onnx/session.js";
import { readManifestWithSources } from "../models/manifest-validation.js";
import { locateModelVersion } from "../models/repository.js";

interface InspectReport {
  folder: string;
  served: string;
  keys: Array<{ key: string; value: unknown; source: string }>;
  graph?: { inputs: string[]; outputs: string[] };
  maxTokens: { manifest: number; model: number | undefined; effective: number };
  warnings: string[];
}

/** The ONNX graph's inputs and outputs with their types and shapes, as the server will feed and read them. */
async function describeGraph(path: string): Promise<InspectReport["graph"]> {
  const opened = await openSession(path, { device: "cpu", intraOpThreads: 1 });
  try {
    const show = (m: { name: string; isTensor: boolean; type?: unknown; shape?: ReadonlyArray<unknown> }) =>
      m.isTensor ? `${m.name} ${String(m.type)} [${(m.shape ?? []).join(", ")}]` : `${m.name} (not a tensor)`;
    return { inputs: opened.session.inputMetadata.map(show), outputs: opened.session.outputMetadata.map(show) };
  } finally {
    await opened.session.release();
  }
}

/** What the server would serve from a folder, each key with the file it came from; nothing is started. */
async function inspectFolder(path: string): Promise<InspectReport> {
  const located = await locateModelVersion(path);
  const { manifest, sources } = await readManifestWithSources(located.dir);
  const source = (key: string) => sources[key] ?? "default";
  const keys = [
    { key: "name", value: manifest.name, source: source("name") },
    { key: "version", value: manifest.version, source: source("version") },
    { key: "format", value: manifest.format, source: source("format") },
    { key: "artifacts.model", value: manifest.artifacts.model, source: source("artifacts") },
    { key: "task", value: manifest.task, source: source("task") },
    ...(manifest.embedding
      ? Object.entries(manifest.embedding).map(([key, value]) => ({ key: `embedding.${key}`, value, source: source("embedding") }))
      : [
          { key: "labels", value: manifest.labels.join(", "), source: source("labels") },
          { key: "calibration.temperature", value: manifest.calibration.temperature, source: source("calibration") },
          { key: "threshold", value: manifest.threshold, source: source("threshold") },
          { key: "escalation.onLowConfidence", value: manifest.escalation.onLowConfidence, source: source("escalation") },
        ]),
  ];
  const warnings: string[] = [];
  if (manifest.task === "text-classification" && sources.calibration === undefined) {
    warnings.push("no calibration: confidences are the model's raw softmax and the threshold (0.5 unless set) was not chosen on data; calibrate before trusting escalation decisions");
  }
  const model = manifest.format === "onnx" ? await modelTokenLimit(located.dir, join(located.dir, manifest.artifacts.tokenizer)) : undefined;
  const report: InspectReport = {
    folder: located.dir,
    served: `${manifest.name}@${manifest.version} (${manifest.format}, ${manifest.task})`,
    keys,
    maxTokens: { manifest: manifest.limits.maxTokens, model, effective: Math.min(manifest.limits.maxTokens, model ?? Infinity) },
    warnings,
  };
  if (manifest.format === "onnx") report.graph = await describeGraph(join(located.dir, manifest.artifacts.model));
  return report;
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("Show what the server would serve from a model folder (model.json, or a Hugging Face export with no model.json) and where each setting comes from.")
    .argument("<folder>", "a version folder, a model folder (its highest version), or an export folder")
    .option("--json", "print the report as JSON")
    .action(async (folder: string, flags: { json?: boolean }) => {
      const report = await inspectFolder(folder);
      if (flags.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(`${report.folder}: serves ${report.served}`);
      for (const k of report.keys) console.log(`  ${k.key.padEnd(27)} ${String(k.value).padEnd(28)} ${k.source}`);
      const t = report.maxTokens;
      console.log(`  ${"max tokens".padEnd(27)} ${String(t.effective).padEnd(28)} limits.maxTokens ${t.manifest}${t.model !== undefined ? `, the model's own ${t.model} (config.json, tokenizer_config.json)` : ""}`);
      if (report.graph) {
        console.log(`  graph inputs: ${report.graph.inputs.join("; ")}`);
        console.log(`  graph outputs: ${report.graph.outputs.join("; ")}`);
      }
      for (const w of report.warnings) console.log(`warning: ${w}`);
    });
}
