import { describe, expect, it } from "vitest";
import { inProcessServers } from "../../bench/compare/server-starters.js";
import { faultMode } from "../../bench/faults/fault-modes.js";
import { runFaults } from "../../bench/faults/run-faults.js";
import { MODELS_DIR } from "../helpers/server.js";

describe("bench faults", () => {
  it("drives each mode through a real server and reads calls, ledger rows and spend back", async () => {
    const rows = await runFaults({
      modes: ["ok", "garbage", "hang", "usage-without-tokens"].map(faultMode),
      breakers: ["off"],
      requests: 10,
      concurrency: 5,
      deadlineMs: 600,
      slackMs: 250,
      start: inProcessServers,
      repository: MODELS_DIR,
      model: "email-spam",
    });
    expect(rows.map((r) => [r.mode, r.targetsMet])).toEqual([
      ["ok", true],
      ["garbage", true],
      ["hang", true],
      ["usage-without-tokens", true],
    ]);
    const [ok, garbage, hang, usage] = rows;
    expect(ok!.outcomes).toEqual({ frontier: 10 });
    expect(garbage!.outcomes).toEqual({ invalid_answer: 10 });
    expect(garbage!.providerCalls).toBe(10);
    expect(hang!.outcomes).toEqual({ timeout: 10 });
    expect(hang!.spendUsd).toBeCloseTo(hang!.reservedUsd, 12);
    expect(usage!.spendUsd).toBeGreaterThan(0);
    expect(usage!.spendUsd).toBeLessThan(usage!.reservedUsd);
    for (const r of rows) expect(r.ledgerRows).toBe(r.providerCalls);
  });
});
