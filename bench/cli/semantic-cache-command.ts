import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { readManifest } from "../../server/models/manifest-validation.js";
import { findModelVersion } from "../../server/models/repository.js";
import { loadModelCorpusSplits } from "../../training/data/evaluation-examples.js";
import { predictWithModelFolder } from "../../training/evaluation/evaluate-model.js";
import type { TrainingMetrics } from "../../training/model-folder/training-metrics.js";
import { escalatedMask, negationPairHits, replayArm, replayStream, type ArmResult } from "../semantic-cache/run-semantic-cache-bench.js";

interface SemanticCacheBenchFlags {
  repository: string;
  model: string;
  seed: number;
  output: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function row(r: ArmResult): string {
  const hits = r.exactHits + r.semanticHits;
  return `| ${r.arm} | ${r.lookups} | ${r.exactHits} | ${r.semanticHits} | ${pct(hits / Math.max(1, r.lookups))} | ${r.falseHits} (${pct(r.falseHitRate)}, ≤ ${pct(r.falseHitUpperBound)}) | ${r.negatedHits} | ${r.frontierCalls} | ${r.lookupMs.p50.toFixed(2)} / ${r.lookupMs.p99.toFixed(2)} |`;
}

export function registerSemanticCacheBench(bench: Command): void {
  bench
    .command("semantic-cache")
    .description("Replays the test split with near-duplicates and negations through the exact cache alone and with the semantic cache: hit rate, false hits, frontier calls avoided.")
    .option("--repository <dir>", "model repository", "models")
    .option("--model <name>", "a model (<name> or <name>/<version>) with a calibrated semanticCache block (specialist calibrate-cache)", "email-spam")
    .option("--seed <n>", "order of the stream and of its variants", (v) => Number(v), 42)
    .option("-o, --output <file>", "JSON results", "bench/results/semantic-cache.json")
    .action(async (flags: SemanticCacheBenchFlags) => {
      const dir = (await findModelVersion(flags.repository, flags.model)).dir;
      const manifest = await readManifest(dir);
      const calibration = manifest.semanticCache;
      if (!calibration) throw new Error(`${flags.model} has no semanticCache block: run specialist calibrate-cache ${flags.model} first`);
      const metrics = JSON.parse(await readFile(join(dir, "metrics.json"), "utf8")) as TrainingMetrics;
      const { splits } = await loadModelCorpusSplits(`email:${metrics.data.protocol}`, dir, metrics.training.seed);
      const stream = replayStream(splits.test, flags.seed);
      const kinds = stream.reduce<Record<string, number>>((n, item) => ({ ...n, [item.kind]: (n[item.kind] ?? 0) + 1 }), {});
      console.log(`${flags.model}@${manifest.version}: threshold similarity ≥ ${calibration.similarity.toFixed(4)} (chosen on ${calibration.calibratedOn}); stream of ${stream.length} texts: ${JSON.stringify(kinds)}`);
      // The specialist's own answers decide which inputs a cascade would send to the frontier.
      const { predictions } = await predictWithModelFolder(dir, stream.map((item, i) => ({ id: String(i), text: item.text, label: item.label })));
      const escalated = escalatedMask(predictions.map((p) => p.confidence), manifest);
      const everything = stream.map(() => true);
      const arms = [
        replayArm("every input to the frontier, exact cache", stream, everything, manifest, false),
        replayArm("every input to the frontier, exact + semantic", stream, everything, manifest, true),
        replayArm("cascade escalations, exact cache", stream, escalated, manifest, false),
        replayArm("cascade escalations, exact + semantic", stream, escalated, manifest, true),
      ];
      const negations = negationPairHits(stream, calibration.similarity);
      console.log("\n| arm | needed the frontier | exact hits | semantic hits | hit rate | false hits (rate, 95% bound) | hits on negated texts | frontier calls | lookup p50 / p99 ms |");
      console.log("|---|---|---|---|---|---|---|---|---|");
      for (const r of arms) console.log(row(r));
      console.log(`\nnegation pairs (an email and the same email with one "not"): ${negations.pairs}, hits ${negations.hits}; most similar pair in words alone ${negations.closest.toFixed(4)}`);
      for (const [exactOnly, withSemantic] of [[arms[0]!, arms[1]!], [arms[2]!, arms[3]!]] as const) {
        const avoided = exactOnly.frontierCalls - withSemantic.frontierCalls;
        console.log(`${withSemantic.arm}: ${avoided} frontier calls avoided beyond the exact cache (${pct(avoided / Math.max(1, exactOnly.frontierCalls))} of its calls)`);
      }
      const result = {
        date: new Date().toISOString(),
        model: `${manifest.name}@${manifest.version}`,
        calibration,
        frontierStandIn: "answers with the true label (a perfect frontier): a false hit is the cache's own error",
        stream: { seed: flags.seed, texts: stream.length, kinds, escalated: escalated.filter(Boolean).length },
        arms,
        negationPairs: negations,
      };
      await mkdir(dirname(flags.output), { recursive: true });
      await writeFile(flags.output, JSON.stringify(result, null, 2) + "\n");
      console.log(`written ${flags.output}`);
    });
}
