import { describe, expect, it } from "vitest";
import { answerConfidence, answerLogScore, answerLogits } from "../../server/backends/answer-confidence.js";
import { calibratedSoftmax } from "../../server/backends/classification-scores.js";
import type { TokenLogprob } from "../../server/backends/generation.js";

const tokens = (pieces: Array<[string, number]>): TokenLogprob[] => pieces.map(([token, logprob]) => ({ token, logprob, bytes: [], top: [] }));

describe("answer confidence", () => {
  const answer = tokens([['{"', -0.1], ["label", -0.2], ['":"', -0.05], ["sp", -0.7], ["am", -0.3], ['"}', -0.01]]);
  const text = answer.map((t) => t.token).join("");
  const schema = { type: "object", properties: { label: { type: "string", enum: ["ham", "spam"] } } };

  it("scores an answer by its mean token, its least likely token, or the tokens that spell the enum label", () => {
    expect(answerLogScore(text, answer, "mean")).toBeCloseTo(-1.36 / 6, 12);
    expect(answerLogScore(text, answer, "min")).toBe(-0.7);
    expect(answerLogScore(text, answer, "label", schema)).toBeCloseTo(-1.0, 12);
    // No enum value in the answer (or no schema): the mean.
    expect(answerLogScore(text, answer, "label")).toBeCloseTo(-1.36 / 6, 12);
    expect(answerLogScore('{"label":"eggs"}', tokens([['{"label":"eggs"}', -2]]), "label", schema)).toBe(-2);
    expect(answerLogScore("", [], "mean")).toBeUndefined();
  });

  it("is a two-label temperature-scaled softmax: the model's probability at temperature 1", () => {
    expect(answerConfidence(Math.log(0.8), 1)).toBeCloseTo(0.8, 12);
    const [right, wrong] = answerLogits(Math.log(0.8));
    expect(answerConfidence(Math.log(0.8), 2.5)).toBeCloseTo(calibratedSoftmax([right, wrong], 2.5)[0]!, 12);
    // Cooling sharpens, heating flattens, and certainty stays finite.
    expect(answerConfidence(Math.log(0.8), 0.5)).toBeGreaterThan(0.8);
    expect(answerConfidence(Math.log(0.8), 4)).toBeLessThan(0.8);
    expect(answerConfidence(0, 3)).toBeLessThanOrEqual(1);
    expect(Number.isFinite(answerConfidence(-9999, 1))).toBe(true);
  });
});
