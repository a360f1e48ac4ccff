import { describe, expect, it } from "vitest";
import { measuredServerConfig } from "../../bench/load/measured-server-config.js";
import { loadConfig } from "../../server/config/load-config.js";
import { startServer } from "../../server/http/start-server.js";
import { MODELS_DIR, postJson } from "../helpers/server.js";

// Regression (issue 19): bench serving ran with the response cache on and, cycling through its emails, measured the
// cache from the second pass on.
describe("the configuration of a server a benchmark measures", () => {
  it("has the response and semantic caches off, so every request reaches the model", async () => {
    const input = measuredServerConfig(MODELS_DIR, "email-spam", { batching: { maxBatchSize: 1 } });
    const config = loadConfig({ env: {}, overrides: { ...input, server: { port: 0, logLevel: "warn" } } });
    expect(config.cache.enabled).toBe(false);
    expect(config.cache.semantic.enabled).toBe(false);
    expect(config.models.overrides["email-spam"]).toMatchObject({ batching: { maxBatchSize: 1 }, escalation: { onLowConfidence: "none" } });
    const server = await startServer(config);
    try {
      const body = { model: "email-spam", input: "Minutes of Tuesday's build meeting attached." };
      const first = await postJson(server, "/v1/classify", body);
      const second = await postJson(server, "/v1/classify", body);
      expect([first.json.results[0].served_by, second.json.results[0].served_by]).toEqual(["specialist", "specialist"]);
    } finally {
      await server.close();
    }
  });
});
