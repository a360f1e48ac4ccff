import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { TokenLogprob } from "../generation.js";

/** OpenAI's floor for a probability that is zero in practice; JSON has no -Infinity. */
const LOGPROB_FLOOR = -9999;

const logOf = (p: number | undefined) => (p && p > 0 ? Math.max(LOGPROB_FLOOR, Math.log(p)) : LOGPROB_FLOOR);

/**
 * Log-probabilities of an answer's tokens under the model's own next-token distribution (temperature 1, before
 * sampling settings, grammar and penalties), with the `top` likeliest alternatives at each step. The answer is read
 * again in one batch after it was generated: the sequence holds the prompt (BOS included) and the answer;
 * the answer's KV entries are erased and re-evaluated from the prompt's last token with probabilities asked for at
 * every position, which costs one batched evaluation rather than a probability table at each sampling step.
 */
export async function scoreAnswer(model: LlamaModel, sequence: LlamaContextSequence, prompt: readonly Token[], answer: readonly Token[], top: number): Promise<TokenLogprob[]> {
  if (answer.length === 0 || prompt.length === 0) return [];
  if (sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex < prompt.length) {
    throw new Error("the sequence does not begin with the prompt that was generated from: the answer cannot be scored");
  }
  const last = prompt[prompt.length - 1]!;
  await sequence.eraseContextTokenRanges([{ start: prompt.length - 1, end: sequence.nextTokenIndex }]);
  const fed = [last, ...answer.slice(0, -1)];
  const steps = await sequence.controlledEvaluate(fed.map((t) => [t, { generateNext: { probabilities: true } }] as [Token, { generateNext: { probabilities: true } }]));
  const piece = (token: Token) => {
    const text = model.detokenize([token], true);
    return { token: text, bytes: Array.from(Buffer.from(text, "utf8")) };
  };
  return answer.map((token, i) => {
    const probabilities = steps[i]?.next.probabilities;
    if (!probabilities) throw new Error("llama.cpp returned no probabilities for an answer token");
    const alternatives: TokenLogprob["top"] = [];
    if (top > 0) {
      // The map is sorted likeliest first.
      for (const [candidate, p] of probabilities) {
        alternatives.push({ ...piece(candidate), logprob: logOf(p) });
        if (alternatives.length >= top) break;
      }
    }
    return { ...piece(token), logprob: logOf(probabilities.get(token)), top: alternatives };
  });
}
