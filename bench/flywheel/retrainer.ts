import { mkdir, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { LabelledExample } from "../../server/evaluation/example.js";
import type { GateResult } from "../../server/evaluation/regression-gate.js";
import { readExported, writeLabelledJsonl } from "./labelled-jsonl.js";
import { mustRunSpecialistCli, runSpecialistCli, trainVersion, type SpecialistCli } from "./specialist-cli.js";

export interface RetrainSettings {
  cli: SpecialistCli;
  /** The server's model folder: one sub-folder per version. */
  modelDir: string;
  model: string;
  ledgerPath: string;
  /** Scratch folder for exported rows, training files and gate reports. */
  workDir: string;
  /** Period-1 training rows and the fixed validation file every version is trained with. */
  baseTrain: LabelledExample[];
  validationFile: string;
  /** Fixed golden set of the regression gate. */
  golden: LabelledExample[];
  frontierPrompt: string;
  /** `train --target-accuracy`: the accuracy the threshold keeps on the validation set. */
  targetAccuracy: number;
  seed: number;
  /** Answered escalations between two retrainings. */
  every: number;
  /** The newest exported rows kept out of a round's training to gate it on recent traffic. */
  recentHoldout: number;
  margin: number;
  origin: string;
  /** The arrival index of the stream now, to place events on the timeline. */
  position: () => number;
  log: (line: string) => void;
}

/** One export → train → gate → swap round. */
export interface RetrainStep {
  candidate: string;
  baseline: string;
  startedAt: number;
  finishedAt: number;
  exported: number;
  trainedOn: number;
  passed: boolean;
  swapped: boolean;
  gate: GateResult;
  seconds: { export: number; train: number; gate: number; total: number };
}

/**
 * The distillation flywheel's loop, driven by the same commands an operator would run: every `every` answered
 * escalations it exports the ledger, trains a new version on period 1 plus the frontier's answers, gates it against
 * the serving version on the golden set and the newest escalations, and hot-swaps it in through the admin API.
 * One round at a time; escalations that arrive meanwhile count towards the next.
 */
export class Retrainer {
  readonly steps: RetrainStep[] = [];
  private serving = "1";
  private nextVersion = 2;
  private sinceLast = 0;
  private running: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(private readonly settings: RetrainSettings) {}

  get version(): string {
    return this.serving;
  }

  /** Called for each answered escalation; starts a round when enough have come in and none is running. */
  escalated(): void {
    this.sinceLast++;
    if (this.running || this.failure || this.sinceLast < this.settings.every) return;
    this.sinceLast = 0;
    this.running = this.round()
      .catch((error: Error) => {
        this.failure = error;
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Waits for the running round, and reports a round that broke (not a gate that said no: that is a result). */
  async idle(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure;
  }

  private async round(): Promise<void> {
    const s = this.settings;
    const candidate = String(this.nextVersion++);
    const startedAt = s.position();
    const started = performance.now();
    const exportedFile = join(s.workDir, `exported-${candidate}.jsonl`);
    const exporting = await mustRunSpecialistCli(s.cli, ["export", "--model", s.model, "--ledger", s.ledgerPath, "-o", exportedFile]);
    const exported = (await readExported(exportedFile)).sort((a, b) => a.time.localeCompare(b.time));
    const cut = Math.max(0, exported.length - s.recentHoldout);
    const asExamples = (rows: typeof exported, from: number) => rows.map((r, i) => ({ id: `escalation-${from + i}`, text: r.text, label: r.label }));
    const learnt = asExamples(exported.slice(0, cut), 0);
    const recent = asExamples(exported.slice(cut), cut);

    const trainFile = join(s.workDir, `train-${candidate}.jsonl`);
    const gateFile = join(s.workDir, `gate-${candidate}.jsonl`);
    await writeLabelledJsonl(trainFile, [...s.baseTrain, ...learnt]);
    // Two categories, so the gate checks the old distribution and the new one separately.
    await writeLabelledJsonl(gateFile, [
      ...s.golden.map((e) => ({ ...e, category: "period-1 golden" })),
      ...recent.map((e) => ({ ...e, category: "recent escalations" })),
    ]);

    const candidateDir = join(s.modelDir, candidate);
    const training = await trainVersion(s.cli, {
      name: s.model, version: candidate, output: candidateDir, data: trainFile, validation: s.validationFile, test: gateFile,
      seed: s.seed, frontierPrompt: s.frontierPrompt, targetAccuracy: s.targetAccuracy,
    });
    const gateReport = join(s.workDir, `gate-${candidate}.json`);
    const gating = await runSpecialistCli(s.cli, [
      "eval", `${s.model}/${candidate}`, "--repository", dirname(s.modelDir), "--data", gateFile, "--category-field", "category",
      "--baseline-model", `${s.model}/${this.serving}`, "--margin", String(s.margin), "--output", gateReport,
    ]);
    if (gating.code !== 0 && gating.code !== 2) throw new Error(`specialist eval exited with ${gating.code}:\n${gating.output.slice(-2000)}`);
    const { gate } = JSON.parse(await readFile(gateReport, "utf8")) as { gate: GateResult };

    let swapped = false;
    if (gate.passed) {
      const response = await fetch(`${s.origin}/admin/models/${s.model}/reload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ version: candidate }),
      });
      if (!response.ok) throw new Error(`reload to version ${candidate} answered ${response.status}: ${await response.text()}`);
      swapped = true;
    } else {
      // A rejected version must not be picked up as the highest one at the next start.
      await mkdir(join(s.workDir, "rejected"), { recursive: true });
      await rename(candidateDir, join(s.workDir, "rejected", candidate));
    }
    const step: RetrainStep = {
      candidate,
      baseline: this.serving,
      startedAt,
      finishedAt: s.position(),
      exported: exported.length,
      trainedOn: s.baseTrain.length + learnt.length,
      passed: gate.passed,
      swapped,
      gate,
      seconds: { export: exporting.seconds, train: training.seconds, gate: gating.seconds, total: (performance.now() - started) / 1000 },
    };
    if (swapped) this.serving = candidate;
    this.steps.push(step);
    const failed = gate.checks.filter((c) => !c.passed).map((c) => c.metric);
    s.log(
      `version ${candidate}: ${exported.length} escalations exported, gate ${gate.passed ? "passed" : `failed (${failed.join(", ")})`}` +
        `${swapped ? ", swapped in" : ", discarded"} at arrival ${step.finishedAt} (${step.seconds.total.toFixed(1)} s)`,
    );
  }
}
