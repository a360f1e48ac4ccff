import { describe, expect, it } from "vitest";
import { Ledger } from "../../server/ledger/ledger.js";
import type { EscalationRecord } from "../../server/ledger/ledger-store.js";
import { exportTrainingData } from "../../training/data/ledger-export.js";

const row = (fields: Partial<EscalationRecord>): EscalationRecord => ({
  time: "2026-11-23T10:00:00.000Z",
  tenant: "alice",
  model: "m",
  version: "1",
  inputHash: "sha256:a",
  inputText: "text",
  specialistLabel: "ham",
  specialistConfidence: 0.6,
  reason: "low_confidence",
  provider: "fake",
  frontierModel: "gpt-5-mini",
  frontierLabel: "spam",
  inputTokens: 10,
  outputTokens: 6,
  costUsd: 0.0001,
  latencyMs: 5,
  outcome: "answered",
  failure: null,
  message: null,
  prompt: null,
  priceVersion: "2025-11-01",
  requestId: "req-1",
  calls: 1,
  usageSource: "provider",
  ...fields,
});

describe("ledger rows for export", () => {
  it("exports answered classification escalations and shadow calls, not frontier answers to invalid generated JSON", async () => {
    const ledger = new Ledger(":memory:");
    try {
      await ledger.recordEscalation(row({}));
      await ledger.recordEscalation(row({ inputHash: "sha256:b", reason: "output_invalid", specialistLabel: "", specialistConfidence: 0, frontierLabel: '{"s":"1"}', inputText: '[{"role":"user","content":"A number:"}]' }));
      await ledger.recordEscalation(row({ inputHash: "sha256:c", outcome: "degraded", failure: "timeout", frontierLabel: null }));
      await ledger.recordEscalation(row({ inputHash: "sha256:d", reason: "shadow", inputText: "confident", specialistConfidence: 0.99, frontierLabel: "ham" }));
      expect((await exportTrainingData(ledger, "m")).map((e) => [e.text, e.label])).toEqual([
        ["text", "spam"],
        ["confident", "ham"],
      ]);
    } finally {
      ledger.close();
    }
  });
});
