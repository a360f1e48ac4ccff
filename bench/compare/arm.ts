import type { LabelledExample } from "../../server/evaluation/example.js";
import { classificationReport } from "../../server/evaluation/classification-metrics.js";
import { openLoop, type LoadResult } from "../load/load-generator.js";

export type ArmKind = "specialist" | "frontier" | "cascade";

/** What one way of serving did on the data set under open-loop load, before costs. */
export interface ArmMeasurement {
  name: string;
  kind: ArmKind;
  threshold?: number;
  requests: number;
  /** Answers that were not 200: counted as wrong. */
  errors: number;
  accuracy: number;
  macroF1: number;
  escalationRate: number;
  /** Escalations the frontier did not answer (the specialist's answer was served, flagged). */
  degradedRate: number;
  /** Frontier spend reported by the server, summed over the requests. */
  frontierUsd: number;
  /** Mean tokens of the frontier calls, from the server's ledger. */
  frontierTokens: { input: number; output: number; calls: number };
  load: LoadResult;
}

interface ClassifyAnswer {
  results: Array<{ label: string; specialist_label: string; confidence: number; escalated: boolean; degraded: boolean }>;
  usage: { cost_usd: number };
}

/** One input's answer in an arm: what was served, and the specialist's own label and confidence. */
export interface ArmOutcome {
  label: string | undefined;
  specialistLabel: string | undefined;
  confidence: number;
  escalated: boolean;
}

/**
 * Sends every example once, at `rate` per second (open loop, latency from the intended send time), through
 * POST /v1/classify with the arm's route, and scores the answers against the gold labels.
 */
export async function runArm(
  origin: string,
  arm: { name: string; kind: ArmKind; threshold?: number; model: string; labels: string[] },
  examples: LabelledExample[],
  rate: number,
): Promise<{ measurement: ArmMeasurement; outcomes: ArmOutcome[] }> {
  const route = arm.kind;
  const bodies = examples.map((e) => JSON.stringify({ model: arm.model, input: e.text, route }));
  const answers: Array<{ status: number; answer?: ClassifyAnswer }> = new Array(examples.length);
  const load = await openLoop({ origin, path: "/v1/classify", bodies, durationSeconds: examples.length / rate, warmupSeconds: 0 }, rate, 2048, (i, status, body) => {
    answers[i] = status === 200 ? { status, answer: JSON.parse(body) as ClassifyAnswer } : { status };
  });
  let escalated = 0;
  let degraded = 0;
  let frontierUsd = 0;
  const predictions = examples.map((example, i) => {
    const result = answers[i]?.answer?.results[0];
    if (result?.escalated) escalated++;
    if (result?.degraded) degraded++;
    frontierUsd += answers[i]?.answer?.usage.cost_usd ?? 0;
    return { gold: example.label, predicted: result?.label ?? "<error>", confidence: 1 };
  });
  const report = classificationReport(predictions, arm.labels);
  const outcomes = examples.map((_, i): ArmOutcome => {
    const result = answers[i]?.answer?.results[0];
    return { label: result?.label, specialistLabel: result?.specialist_label, confidence: result?.confidence ?? 0, escalated: result?.escalated ?? false };
  });
  const measurement: ArmMeasurement = {
    name: arm.name,
    kind: arm.kind,
    ...(arm.threshold !== undefined ? { threshold: arm.threshold } : {}),
    requests: examples.length,
    errors: answers.filter((a) => a?.status !== 200).length,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    escalationRate: escalated / examples.length,
    degradedRate: degraded / examples.length,
    frontierUsd,
    frontierTokens: await frontierTokens(origin),
    load,
  };
  return { measurement, outcomes };
}

/** Mean input and output tokens of the answered escalations this server made (its ledger, newest 1,000). */
async function frontierTokens(origin: string): Promise<{ input: number; output: number; calls: number }> {
  const response = await fetch(`${origin}/v1/escalations?limit=1000`);
  const { records } = (await response.json()) as { records: Array<{ outcome: string; input_tokens: number | null; output_tokens: number | null }> };
  const answered = records.filter((r) => r.outcome === "answered" && r.input_tokens !== null && r.output_tokens !== null);
  const mean = (pick: (r: (typeof answered)[number]) => number) => (answered.length ? answered.reduce((s, r) => s + pick(r), 0) / answered.length : 0);
  return { input: mean((r) => r.input_tokens!), output: mean((r) => r.output_tokens!), calls: answered.length };
}
