import { describe, expect, it } from "vitest";
import { HAPROXY } from "../../bench/fleet/haproxy.js";
import { runFleetScenario } from "../../bench/fleet/fleet-scenario.js";
import { MODELS_DIR } from "../helpers/server.js";
import { stateTestsEnabled } from "../helpers/state-servers.js";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const enabled = stateTestsEnabled() && (HAPROXY !== undefined || Boolean(process.env.CI));

/**
 * Three server processes sharing PostgreSQL and Redis behind haproxy, two tenants with small budgets, 200 concurrent
 * requests that all escalate to a slow stand-in frontier, one replica killed with SIGKILL mid-run (issue 15).
 */
describe.runIf(enabled)("a fleet of three replicas behind a load balancer", () => {
  it("keeps one set of books through a kill -9: spend within budget, every call recorded, no acknowledged row lost", async () => {
    const r = await runFleetScenario({ command: ["--import", "tsx", CLI], modelsDir: MODELS_DIR, log: (line) => console.log(`fleet: ${line}`) });
    console.log(`fleet figures: ${JSON.stringify(r)}`);
    // Spend: within each tenant's budget, to the nano-dollar; nothing left reserved once the dead replica's calls are recovered.
    for (const t of r.tenants) {
      expect(t.committedUsd + t.reservedUsd).toBeLessThanOrEqual(t.budgetUsd);
      expect(t.reservedUsd).toBe(0);
    }
    expect(r.answered.byFrontier).toBeGreaterThan(0);
    expect(r.answered.overBudget).toBeGreaterThan(0);
    // Every call the provider received has its write-ahead row; rows without a call are only the dead replica's.
    expect(r.callsWithoutRow).toBe(0);
    expect(r.callRows.pending).toBe(0);
    expect(r.callRows.total).toBeGreaterThanOrEqual(r.providerCalls);
    expect(r.callRows.total - r.providerCalls).toBeLessThanOrEqual(r.callRows.unknownOutcome);
    expect(r.acknowledgedRowsLost).toBe(0);
    // The balancer routes around the dead replica; only requests it held when it died failed.
    expect(r.killedAfterResponses).toBeGreaterThan(0);
    expect(r.afterKill.failed).toBe(0);
    expect(r.answered.failed).toBeLessThan(r.requests / 2);
    // One rate-limit window across replicas; a kill switch flipped on one replica holds on all.
    expect(r.rateLimit.overshoot).toBe(0);
    expect(r.rateLimit.escalated).toBe(r.rateLimit.perMinute);
    expect(r.killSwitch.escalated).toBe(0);
    expect(r.killSwitch.disabled).toBe(r.killSwitch.requests);
  }, 240_000);
});
