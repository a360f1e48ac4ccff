import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/http/start-server.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { addVersion } from "../helpers/model-versions.js";
import { metricValue, postJson, startTestServer } from "../helpers/server.js";

let repository: string;
let server: RunningServer;

const drift = async (model: string) => (await fetch(`${server.url}/admin/models/${model}/drift`)).json() as Promise<any>;

beforeAll(async () => {
  // Two copies of the bundled model (same reference): one gets traffic like its training data, one only spam.
  repository = await mkdtemp(join(tmpdir(), "drift-"));
  await addVersion(repository, "1");
  await addVersion(repository, "1", { name: "email-spam-shifted" });
  await addVersion(repository, "1", { name: "email-spam-quiet" });
  const oneWorker = { batching: { workers: 1 } };
  server = await startTestServer({
    models: { repository, serve: "all", overrides: { "email-spam": oneWorker, "email-spam-shifted": oneWorker, "email-spam-quiet": oneWorker } },
    metrics: { drift: { minAnswers: 100 } },
  });
  // 200 per folder: 40% spam against the reference's 30%, a shift well under the 0.1 "stable" bound.
  const emails = shuffleInPlace(await loadEmailCorpus({ limitPerGroup: 200 }), createRng(7));
  const like = emails.slice(0, 300).map((e) => e.text);
  const spam = emails.filter((e) => e.label === "spam").slice(0, 300).map((e) => e.text);
  for (let i = 0; i < 300; i += 50) {
    expect((await postJson(server, "/v1/classify", { model: "email-spam", input: like.slice(i, i + 50) })).status).toBe(200);
    expect((await postJson(server, "/v1/classify", { model: "email-spam-shifted", input: spam.slice(i, i + 50) })).status).toBe(200);
  }
  expect((await postJson(server, "/v1/classify", { model: "email-spam-quiet", input: spam.slice(0, 20) })).status).toBe(200);
});

afterAll(async () => {
  await server?.close();
  await rm(repository, { recursive: true, force: true });
});

describe("drift of live answers against the model's reference", () => {
  it("scores traffic like the training data as stable", async () => {
    const report = await drift("email-spam");
    expect(report.answers).toBe(300);
    expect(report.reference.source).toContain("validation split");
    expect(report.psi.labels).toBeLessThan(0.1);
    expect(report.live.label_shares.spam).toBeGreaterThan(0.2);
    expect(report.timeline.reduce((n: number, t: { answers: number }) => n + t.answers, 0)).toBe(300);
  });

  it("scores an all-spam stream as a significant shift, on the admin API and as a metric", async () => {
    const report = await drift("email-spam-shifted");
    expect(report.live.label_shares.spam).toBeGreaterThan(0.9);
    expect(report.psi.labels).toBeGreaterThan(0.25);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_drift_psi", 'model="email-spam-shifted"', 'signal="labels"')).toBeCloseTo(report.psi.labels, 6);
    expect(metricValue(metrics, "specialist_drift_psi", 'model="email-spam"', 'signal="labels"')).toBeLessThan(0.1);
  });

  it("gives no score below minAnswers (too few to alert on), and 404 for a model not served", async () => {
    const quiet = await drift("email-spam-quiet");
    expect(quiet).toMatchObject({ answers: 20, min_answers: 100, psi: { labels: null, confidence: null } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, "specialist_drift_psi", 'model="email-spam-quiet"')).toBeUndefined();
    const missing = await fetch(`${server.url}/admin/models/nope/drift`);
    expect(missing.status).toBe(404);
  });
});
