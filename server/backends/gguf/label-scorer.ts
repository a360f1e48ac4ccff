import type { LlamaContextSequence, Token } from "node-llama-cpp";

/**
 * Log-probability of each label's token sequence after the prompt. The prompt is evaluated once; its next-token
 * distribution scores every label's first token; a label of several tokens is then fed on, token by token, and
 * erased again, so the sequence is back at the prompt for the next label.
 *
 * With `reuse`, the sequence is not cleared first: the tokens it already holds that begin this prompt (the fixed
 * instructions before the input, usually) stay in its KV cache and only the rest is evaluated. The prompt's last
 * token is always evaluated, since its next-token probabilities are the answer.
 */
export async function labelLogProbabilities(sequence: LlamaContextSequence, prompt: number[], labels: number[][], reuse = false): Promise<number[]> {
  let start = 0;
  if (reuse) {
    start = Math.min(sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex, prompt.length - 1);
    if (start < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start, end: sequence.nextTokenIndex }]);
  } else if (sequence.nextTokenIndex > 0) {
    await sequence.clearHistory();
  }
  const fresh = prompt.slice(start);
  const last = fresh.length - 1;
  const evaluated = await sequence.controlledEvaluate([
    ...(fresh.slice(0, last) as Token[]),
    [fresh[last] as Token, { generateNext: { probabilities: true } }],
  ]);
  const first = evaluated[last]?.next.probabilities;
  if (!first) throw new Error("llama.cpp returned no probabilities for the prompt");
  const logProbs: number[] = [];
  for (const tokens of labels) {
    let logProb = Math.log(first.get(tokens[0] as Token) ?? 0);
    if (tokens.length > 1) {
      const fed = tokens.slice(0, -1);
      const steps = await sequence.controlledEvaluate(fed.map((t) => [t as Token, { generateNext: { probabilities: true } }] as [Token, { generateNext: { probabilities: true } }]));
      for (let j = 1; j < tokens.length; j++) logProb += Math.log(steps[j - 1]?.next.probabilities?.get(tokens[j] as Token) ?? 0);
      await sequence.eraseContextTokenRanges([{ start: prompt.length, end: prompt.length + fed.length }]);
    }
    logProbs.push(logProb);
  }
  return logProbs;
}
