import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Retrainer } from "../../bench/flywheel/retrainer.js";
import { hashInput } from "../../server/escalation/escalation-service.js";
import type { RunningServer } from "../../server/http/start-server.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import type { LabelledExample } from "../../server/evaluation/example.js";
import { stratifiedSplit } from "../../training/data/split.js";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../../training/train-specialist.js";
import { writeLabelledJsonl } from "../../bench/flywheel/labelled-jsonl.js";
import { postJson, startTestServer } from "../helpers/server.js";

const CLI = ["--import", "tsx", fileURLToPath(new URL("../../cli/main.ts", import.meta.url))];
const PROMPT = fileURLToPath(new URL("../../training/prompts/email-spam.txt", import.meta.url));
let dir: string;
let server: RunningServer;
let ledgerPath: string;
let base: { train: LabelledExample[]; validation: LabelledExample[]; golden: LabelledExample[]; stream: LabelledExample[] };
let retrainer: Retrainer;
let written = 0;

/** Escalations the frontier answered, as the server would have recorded them (texts stored). */
function recordAnswered(examples: LabelledExample[], label: (e: LabelledExample) => string): void {
  const ledger = new Ledger(ledgerPath);
  for (const e of examples) {
    ledger.recordEscalation({
      time: new Date(Date.UTC(2026, 10, 1, 0, 0, written++)).toISOString(), tenant: "open", model: "drift", version: "1",
      inputHash: hashInput(e.text), inputText: e.text, specialistLabel: e.label, specialistConfidence: 0.6, reason: "low_confidence",
      provider: "fake", frontierModel: "gpt-5", frontierLabel: label(e), inputTokens: 100, outputTokens: 5, costUsd: 0.0001,
      latencyMs: 900, outcome: "answered", failure: null, message: null, prompt: "email", priceVersion: "2025-11-01",
      requestId: null, calls: 1, usageSource: "provider",
    });
  }
  ledger.close();
}

const servedVersion = async () => (await postJson(server, "/v1/classify", { model: "drift", input: "hello", route: "specialist" })).json.version;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flywheel-"));
  ledgerPath = join(dir, "ledger.sqlite");
  const corpus = await loadEmailCorpus({ limitPerGroup: 70 });
  const { first: rest, second: stream } = stratifiedSplit(corpus, 0.5, 1);
  const { first: trainAndValidation, second: golden } = stratifiedSplit(rest, 0.8, 2);
  const { first: train, second: validation } = stratifiedSplit(trainAndValidation, 0.75, 3);
  base = { train, validation, golden, stream };
  await writeLabelledJsonl(join(dir, "validation.jsonl"), validation);
  await trainSpecialist({
    ...DEFAULT_TRAIN_OPTIONS,
    output: join(dir, "models", "drift", "1"),
    name: "drift",
    version: "1",
    description: "version 1 of the flywheel test",
    data: { kind: "splits", name: "test split", splits: { train, validation, test: golden, duplicatesRemoved: 0, protocol: "test" } },
    thresholdTarget: { kind: "kept-accuracy", value: 0.99 },
    frontierPrompt: PROMPT,
  });
  server = await startTestServer({ models: { repository: join(dir, "models"), serve: ["drift"] }, ledger: { path: ledgerPath, storeInputs: true } });
  retrainer = new Retrainer({
    cli: CLI,
    modelDir: join(dir, "models", "drift"),
    model: "drift",
    ledgerPath,
    workDir: dir,
    baseTrain: train,
    validationFile: join(dir, "validation.jsonl"),
    golden,
    frontierPrompt: PROMPT,
    targetAccuracy: 0.99,
    seed: 1,
    every: 5,
    recentHoldout: 10,
    margin: 0.05,
    origin: server.url,
    position: () => written,
    log: () => {},
  });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("flywheel round: export → train → eval gate → hot swap", () => {
  it("swaps in a version trained on the frontier's answers when it passes the gate", async () => {
    expect(await servedVersion()).toBe("1");
    recordAnswered(base.stream.slice(0, 100), (e) => e.label);
    for (let i = 0; i < 4; i++) retrainer.escalated();
    expect(retrainer.steps).toHaveLength(0);
    retrainer.escalated(); // the fifth answered escalation starts a round
    await retrainer.idle();
    const [step] = retrainer.steps;
    expect(step).toMatchObject({ candidate: "2", baseline: "1", exported: 100, trainedOn: base.train.length + 90, passed: true, swapped: true });
    expect(step!.gate.checks.map((c) => c.metric)).toContain("accuracy[recent escalations]");
    expect(await servedVersion()).toBe("2");
  }, 180_000);

  it("discards a version that fails the gate (labels poisoned) and keeps the current one serving", async () => {
    const flip = (e: LabelledExample) => (e.label === "spam" ? "ham" : "spam");
    // Newer answers for the same texts replace the older ones in the export: every label is now wrong.
    recordAnswered(base.stream, flip);
    for (let i = 0; i < 5; i++) retrainer.escalated();
    await retrainer.idle();
    const step = retrainer.steps[1]!;
    expect(step).toMatchObject({ candidate: "3", baseline: "2", passed: false, swapped: false });
    expect(step.gate.checks.some((c) => c.metric === "accuracy[period-1 golden]" && !c.passed)).toBe(true);
    expect(await servedVersion()).toBe("2");
    // Out of the repository, so a restart cannot pick the rejected version as the highest.
    await expect(access(join(dir, "models", "drift", "3"))).rejects.toThrow();
    await access(join(dir, "rejected", "3", "model.onnx"));
  }, 180_000);
});
