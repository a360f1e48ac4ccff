import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../server/ledger/ledger.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { metricValue, postJson, startTestServer, UNSURE } from "../helpers/server.js";

let frontier: FakeFrontier;
let dir: string;

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  dir = await mkdtemp(join(tmpdir(), "ledger-faults-"));
});

afterAll(async () => {
  await frontier?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("ledger faults", () => {
  it("a ledger that cannot be opened stops start-up with a clear configuration error", async () => {
    // A folder in the path that is a file: refused even to root, as CI machines often run tests.
    const blocker = join(dir, "not-a-folder");
    await writeFile(blocker, "");
    const path = join(blocker, "ledger.sqlite");
    await expect(startTestServer({ ledger: { path } })).rejects.toMatchObject({
      code: "ERR_CONFIG_INVALID",
      message: expect.stringContaining(`ledger.path: cannot open ${path}`),
    });
  });

  it("a full ledger (SQLITE_FULL, as on a full disk) costs records, never answers, and no frontier call is made without its row", async () => {
    frontier.reset();
    const path = join(dir, "full.sqlite");
    const server = await startTestServer({
      cache: { enabled: false },
      models: { overrides: { "email-spam": { threshold: 0.9 } } },
      escalation: fakeEscalation(frontier),
      ledger: { path, storeInputs: true, maxSizeMb: 0.25 },
    });
    try {
      // Each stored text is ~20 KB: the 256 KiB cap is full after about a dozen records.
      const texts = Array.from({ length: 30 }, (_, i) => `${UNSURE} ${i} ${"agenda notes ".repeat(1600)}`);
      const reasons: string[] = [];
      for (const text of texts) {
        const answer = await postJson(server, "/v1/classify", { model: "email-spam", input: text, route: "frontier" });
        expect(answer.status).toBe(200);
        const result = answer.json.results[0];
        // Answered by the frontier, or, once not even a call's row fits, by the specialist, flagged.
        if (result.served_by === "frontier") expect(result.degraded).toBe(false);
        else expect(result).toMatchObject({ served_by: "specialist", degraded: true, degraded_reason: "ledger_unavailable" });
        reasons.push(result.degraded_reason ?? result.served_by);
      }
      expect(reasons[0]).toBe("frontier");
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metricValue(metrics, "specialist_ledger_write_errors_total")).toBeGreaterThan(0);
      const ledger = new Ledger(path);
      try {
        expect((await ledger.listEscalations({ limit: 100 })).length).toBeGreaterThan(0);
        // Every call the frontier received has its write-ahead row: spend is never more than the ledger knows.
        const calls = ledger.database.prepare("SELECT COUNT(*) AS n FROM frontier_calls").get() as { n: number };
        expect(calls.n).toBe(frontier.seen.length);
      } finally {
        ledger.close();
      }
    } finally {
      await server.close();
    }
  });
});
