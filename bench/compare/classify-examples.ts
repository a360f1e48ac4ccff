import type { LabelledExample } from "../../server/evaluation/example.js";

/** One answer of a model to an example: its label, calibrated confidence and probability per label. */
export interface ExampleAnswer {
  label: string;
  confidence: number;
  scores: Record<string, number>;
}

/**
 * The model's own answers (route `specialist`: no escalation) to every example, through a server's `/v1/classify`,
 * `perRequest` inputs at a time. Not timed: for choosing thresholds and judging inputs, not for latency figures.
 */
export async function classifyExamples(origin: string, model: string, examples: ReadonlyArray<Pick<LabelledExample, "text">>, perRequest = 64): Promise<ExampleAnswer[]> {
  const answers: ExampleAnswer[] = [];
  for (let at = 0; at < examples.length; at += perRequest) {
    const input = examples.slice(at, at + perRequest).map((e) => e.text);
    const response = await fetch(`${origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input, route: "specialist" }) });
    if (!response.ok) throw new Error(`${model}: /v1/classify answered ${response.status}: ${await response.text()}`);
    const { results } = (await response.json()) as { results: ExampleAnswer[] };
    answers.push(...results.map(({ label, confidence, scores }) => ({ label, confidence, scores })));
  }
  return answers;
}
