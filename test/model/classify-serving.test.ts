import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config/load-config.js";
import { ServingError } from "../../server/errors/registry.js";
import { ServingMetrics } from "../../server/metrics/serving-metrics.js";
import type { ModelRegistry } from "../../server/models/model-registry.js";
import type { Caller } from "../../server/serving/caller.js";
import { ClassifyRequest } from "../../server/serving/classify-protocol.js";
import { createServingCore, type ServingCore } from "../../server/serving/serving-core.js";
import { FakeFrontier, fakeEscalation } from "../helpers/fake-frontier.js";
import { MODELS_DIR, SURE, UNSURE } from "../helpers/server.js";

/** The serving layer on its own: models, state and the cascade, no Fastify instance and no socket of its own. */
let frontier: FakeFrontier;
let registry: ModelRegistry;
let core: ServingCore;
const silent = () => {};

function caller(overrides: Partial<Caller> = {}): Caller {
  return { tenant: core.tenants.authenticate(undefined), requestId: "unit-1", signal: new AbortController().signal, arrived: performance.now(), ...overrides };
}
const request = (input: string | string[], extra: Record<string, unknown> = {}) => ClassifyRequest.parse({ model: "email-spam", input, ...extra });

beforeAll(async () => {
  frontier = await new FakeFrontier().start();
  const config = loadConfig({
    env: {},
    overrides: {
      models: { repository: MODELS_DIR, serve: ["email-spam"], overrides: { "email-spam": { threshold: 0.9, limits: { maxInputsPerRequest: 4 } } } },
      escalation: fakeEscalation(frontier),
      ledger: { path: ":memory:" },
      metrics: { defaultMetrics: false },
      // Each test's escalations are counted: its alike texts must not answer one another (see semantic-cache.test.ts).
      cache: { semantic: { enabled: false } },
    },
  });
  const metrics = new ServingMetrics({ defaultMetrics: false });
  core = await createServingCore(config, metrics, silent);
  registry = core.registry;
});

afterAll(async () => {
  await core?.close();
  await registry?.dispose();
  await frontier?.stop();
});

beforeEach(() => frontier.reset());

describe("serving.classify without HTTP", () => {
  it("answers a trusted input itself and escalates an unsure one, as the wire protocol says", async () => {
    const models: string[] = [];
    const response = await core.classify.classify(request([SURE, UNSURE]), caller({ onModel: (name) => models.push(name) }));
    expect(models).toEqual(["email-spam"]);
    expect(response).toMatchObject({ model: "email-spam", version: "1", usage: { inputs: 2 } });
    expect(response.results[0]).toMatchObject({ served_by: "specialist", below_threshold: false, escalated: false });
    expect(response.results[1]).toMatchObject({ served_by: "frontier", below_threshold: true, escalated: true, label: "ham", specialist_label: "spam" });
    expect(frontier.seen).toHaveLength(1);
    expect(response.usage.cost_usd).toBeGreaterThan(0);
  });

  it("serves a repeated input from the cache, at no cost", async () => {
    const again = await core.classify.classify(request(UNSURE), caller());
    expect(again.results[0]).toMatchObject({ served_by: "cache", cached_from: "frontier", label: "ham", escalated: false });
    expect(again.usage.cost_usd).toBe(0);
    expect(frontier.seen).toHaveLength(0);
  });

  it("never escalates on route specialist, always on route frontier", async () => {
    const local = await core.classify.classify(request(`${UNSURE} (local)`, { route: "specialist" }), caller());
    expect(local.results[0]).toMatchObject({ served_by: "specialist", below_threshold: true, escalated: false, degraded: false });
    const forced = await core.classify.classify(request(SURE, { route: "frontier" }), caller());
    expect(forced.results[0]).toMatchObject({ served_by: "frontier", below_threshold: false, escalated: true });
  });

  it("refuses what the model's limits refuse, with the registry's stable codes", async () => {
    await expect(core.classify.classify(request(["a", "b", "c", "d", "e"]), caller())).rejects.toMatchObject({ code: "ERR_TOO_MANY_INPUTS" });
    await expect(core.classify.classify(ClassifyRequest.parse({ model: "nope", input: "x" }), caller())).rejects.toBeInstanceOf(ServingError);
  });

  it("gives the specialist's answer, flagged, when the caller has gone before the escalation", async () => {
    const gone = new AbortController();
    frontier.fallback = { kind: "hang" };
    const pending = core.classify.classify(request(`${UNSURE} (gone)`), caller({ signal: gone.signal }));
    setTimeout(() => gone.abort(), 100);
    const response = await pending;
    expect(response.results[0]).toMatchObject({ served_by: "specialist", degraded: true, degraded_reason: "cancelled" });
  });
});
