import { TokenBias, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";

type Probabilities = Map<Token, number>;
type SampleOptions = { temperature: number; topK: number; topP: number; minP: number; tokenBias: TokenBias };

/**
 * The labels' first tokens, lifted above every other token so that llama.cpp returns the probabilities of these
 * alone. Asking for the whole distribution sends the vocabulary across to JavaScript as a Map on every request
 * (about a third of classification throughput on a small model); the first tokens alone are all a classification
 * reads. Normalised over these tokens instead of the vocabulary, every label's log-probability moves by the same
 * amount, which the softmax over labels (scoring and calibration alike) cancels.
 */
export type LabelCandidates = { readonly firstTokens: ReadonlySet<number>; readonly options: SampleOptions };

/**
 * How far the first tokens are lifted, in logits. Large enough that another token overtakes a label only when the
 * label is all but impossible (then the whole distribution is read instead); small enough that float32 keeps the
 * gaps between labels to about 1e-5.
 */
export const LABEL_LIFT = 100;

export function labelCandidates(model: LlamaModel, labels: number[][], lift = LABEL_LIFT): LabelCandidates {
  const firstTokens = new Set(labels.map((tokens) => tokens[0]!));
  const tokenBias = new TokenBias(model.tokenizer);
  for (const token of firstTokens) tokenBias.set(token as Token, { logit: lift });
  // temperature 1 keeps the logits as they are; topP 1 and minP 0 cut nothing; topK keeps the lifted tokens.
  return { firstTokens, options: { temperature: 1, topK: firstTokens.size, topP: 1, minP: 0, tokenBias } };
}

/**
 * Log-probability of each label's token sequence after the prompt. The prompt is evaluated once; its next-token
 * distribution scores every label's first token; a label of several tokens is then fed on, token by token, and
 * erased again, so the sequence is back at the prompt for the next label.
 *
 * With `candidates`, the first token's probability is normalised over the labels' first tokens rather than the
 * vocabulary (see LabelCandidates): the values then differ from the exact ones by one constant for all labels.
 *
 * With `reuse`, the sequence is not cleared first: the tokens it already holds that begin this prompt (the fixed
 * instructions before the input, usually) stay in its KV cache and only the rest is evaluated. The prompt's last
 * token is always evaluated, since its next-token probabilities are the answer.
 */
export async function labelLogProbabilities(sequence: LlamaContextSequence, prompt: number[], labels: number[][], reuse = false, candidates?: LabelCandidates): Promise<number[]> {
  let start = 0;
  if (reuse) {
    start = Math.min(sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex, prompt.length - 1);
    if (start < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start, end: sequence.nextTokenIndex }]);
  } else if (sequence.nextTokenIndex > 0) {
    await sequence.clearHistory();
  }
  let first = await evaluatePrompt(sequence, prompt.slice(start), candidates?.options);
  if (candidates && ![...candidates.firstTokens].every((token) => first.has(token as Token))) {
    // Another token outranked a lifted label: read the prompt's last token again, with the whole distribution.
    await sequence.eraseContextTokenRanges([{ start: prompt.length - 1, end: sequence.nextTokenIndex }]);
    first = await evaluatePrompt(sequence, prompt.slice(-1));
  }
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

/** Evaluates `tokens` on the sequence and returns the next-token probabilities after the last one. */
async function evaluatePrompt(sequence: LlamaContextSequence, tokens: number[], options?: SampleOptions): Promise<Probabilities> {
  const last = tokens.length - 1;
  const evaluated = await sequence.controlledEvaluate([
    ...(tokens.slice(0, last) as Token[]),
    [tokens[last] as Token, { generateNext: { probabilities: true, ...(options ? { options } : {}) } }],
  ]);
  const probabilities = evaluated[last]?.next.probabilities;
  if (!probabilities) throw new Error("llama.cpp returned no probabilities for the prompt");
  return probabilities;
}
