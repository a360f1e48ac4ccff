import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashInput } from "../../server/escalation/escalation-service.js";
import { Ledger } from "../../server/ledger/ledger.js";
import type { EscalationRecord } from "../../server/ledger/ledger-store.js";
import { readManifest } from "../../server/models/manifest-validation.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { DEFAULT_TRAIN_OPTIONS, trainSpecialist } from "../../training/train-specialist.js";

const run = promisify(execFile);
const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
let dir: string;
let ledgerPath: string;
let emails: Array<{ text: string; label: string }>;

function escalation(text: string, label: string | null, i: number): EscalationRecord {
  return {
    time: new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString(),
    tenant: "t",
    model: "email-spam",
    version: "1",
    inputHash: hashInput(text),
    inputText: text,
    specialistLabel: "spam",
    specialistConfidence: 0.6,
    reason: "low_confidence",
    provider: "fake",
    frontierModel: "gpt-5-mini",
    frontierLabel: label,
    inputTokens: 100,
    outputTokens: 6,
    costUsd: 0.0001,
    latencyMs: 900,
    outcome: label === null ? "degraded" : "answered",
    failure: label === null ? "timeout" : null,
    prompt: "generic",
    priceVersion: "2025-11-01",
    message: null,
    requestId: null,
    calls: 1,
    usageSource: "provider",
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "export-"));
  ledgerPath = join(dir, "ledger.sqlite");
  emails = (await loadEmailCorpus({ limitPerGroup: 80 })).map((e) => ({ text: e.text, label: e.label }));
  const ledger = new Ledger(ledgerPath);
  emails.forEach((e, i) => ledger.recordEscalation(escalation(e.text, e.label, i)));
  // A degraded escalation has no label to learn from; another model's rows are not exported.
  ledger.recordEscalation(escalation("timed out, no label", null, 9999));
  ledger.recordEscalation({ ...escalation("another model", "ham", 9998), model: "other" });
  // A person corrects the frontier on the first email: the human label must win.
  const first = emails[0]!;
  const corrected = first.label === "spam" ? "ham" : "spam";
  const id = await ledger.addReview({ time: new Date().toISOString(), tenant: "t", model: "email-spam", version: "1", inputHash: hashInput(first.text), inputText: first.text, specialistLabel: "spam", specialistConfidence: 0.6, frontierLabel: first.label });
  await ledger.resolveReviews([id], corrected, "admin", new Date().toISOString());
  ledger.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("export → train", () => {
  it("exports frontier-answered escalations and resolved reviews as JSONL that train accepts", async () => {
    const output = join(dir, "escalations.jsonl");
    const { stdout } = await run(process.execPath, ["--import", "tsx", CLI, "export", "--model", "email-spam", "--ledger", ledgerPath, "-o", output]);
    // One example per distinct text: the corpus repeats a few messages.
    const distinct = new Set(emails.map((e) => e.text)).size;
    expect(stdout).toContain(`wrote ${distinct} examples (1 labelled by people`);
    const rows = (await readFile(output, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(rows).toHaveLength(distinct);
    const first = rows.find((r) => r.text === emails[0]!.text);
    expect(first).toMatchObject({ source: "human" });
    expect(first.label).not.toBe(emails[0]!.label);

    const modelDir = join(dir, "retrained");
    const metrics = await trainSpecialist({
      ...DEFAULT_TRAIN_OPTIONS,
      output: modelDir,
      name: "retrained",
      version: "2",
      description: "trained on exported escalations",
      data: { kind: "file", train: output, categoryField: "source" },
      vocabularySize: 4000,
      buckets: 4096,
      thresholdTarget: { kind: "kept-accuracy", value: 0.98 },
    });
    expect(metrics.data.sizes.train + metrics.data.sizes.validation + metrics.data.sizes.test).toBeGreaterThan(350);
    expect(metrics.test.accuracy).toBeGreaterThan(0.85);
    expect((await readManifest(modelDir)).labels).toEqual(["ham", "spam"]);
  });
});
