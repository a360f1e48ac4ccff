import { isDeepStrictEqual } from "node:util";
import { answerConfidence, answerLogits } from "../../server/backends/answer-confidence.js";
import { belowThreshold } from "../../server/escalation/confidence-policy.js";
import { expectedCalibrationError } from "../../server/evaluation/ece.js";
import { fitTemperature } from "./temperature.js";
import { chooseThreshold, type ThresholdChoice, type ThresholdTarget } from "./threshold.js";

/** An answer's log-score (`answerLogScore`) and whether it was right. */
export interface ScoredAnswer {
  logScore: number;
  correct: boolean;
}

/** What an empty answer scores: no token vouches for it. */
export const EMPTY_ANSWER_SCORE = -50;

/** Right when it is the expected text (white space at the ends aside), or, for an expected object, the same JSON. */
export function isRightAnswer(answer: string, expected: unknown): boolean {
  if (typeof expected === "string") return answer.trim() === expected.trim();
  try {
    return isDeepStrictEqual(JSON.parse(answer), expected);
  } catch {
    return false;
  }
}

export interface GenerationCalibration {
  temperature: number;
  threshold: ThresholdChoice;
  validationEce: { before: number; after: number };
  test: { count: number; accuracy: number; ece: { before: number; after: number }; keptAccuracy: number; escalationRate: number };
}

const confidences = (answers: ScoredAnswer[], temperature: number) => answers.map((a) => ({ confidence: answerConfidence(a.logScore, temperature), correct: a.correct }));

/**
 * The classification steps for generated answers: "right" and "wrong" as two labels whose logits come from the
 * answer's score, the temperature fitted on validation, the threshold chosen on validation for the target; the test
 * answers only report.
 */
export function calibrateGeneration(validation: ScoredAnswer[], test: ScoredAnswer[], target: ThresholdTarget): GenerationCalibration {
  const temperature = fitTemperature(validation.map((a) => ({ logits: answerLogits(a.logScore), label: a.correct ? 0 : 1 })));
  const validationAfter = confidences(validation, temperature);
  const threshold = chooseThreshold(validationAfter, target);
  const testAfter = confidences(test, temperature);
  const kept = testAfter.filter((p) => !belowThreshold(p.confidence, threshold.threshold));
  return {
    temperature,
    threshold,
    validationEce: { before: expectedCalibrationError(confidences(validation, 1)), after: expectedCalibrationError(validationAfter) },
    test: {
      count: test.length,
      accuracy: test.filter((a) => a.correct).length / Math.max(1, test.length),
      ece: { before: expectedCalibrationError(confidences(test, 1)), after: expectedCalibrationError(testAfter) },
      keptAccuracy: kept.filter((p) => p.correct).length / Math.max(1, kept.length),
      escalationRate: test.length ? 1 - kept.length / test.length : 0,
    },
  };
}
