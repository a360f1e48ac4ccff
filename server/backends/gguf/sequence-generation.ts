import { LlamaGrammarEvaluationState, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import { StopText } from "./stop-text.js";

export interface SequenceGenerationSettings {
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop: string[];
  grammar?: LlamaGrammar;
  /** OpenAI's penalties, over the whole answer; none by default (no multiplicative repeat penalty, as llama-server). */
  penalties?: { presence: number; frequency: number };
  signal: AbortSignal;
  onText?: (text: string) => void;
}

export interface SequenceGeneration {
  text: string;
  finishReason: "stop" | "length" | "cancelled";
  /** Every token generated, a stop string's included: what the model produced (the usage figure). */
  generated: number;
  /** The tokens whose text the reply holds (before a stop string): what log probabilities are given for. */
  kept: Token[];
}

/** A token's text may end in the middle of a character; its bytes complete within a few tokens. */
const REPLACEMENT = "\uFFFD";
const MAX_PARTIAL_TOKENS = 4;

/** The string stop triggers of node-llama-cpp's JSON grammars (a run of newlines after the value). */
function grammarStops(grammar: LlamaGrammar | undefined): string[] {
  return (grammar?.stopGenerationTriggers ?? []).flatMap((trigger) => {
    const values: readonly unknown[] = typeof trigger === "string" ? [trigger] : Array.isArray(trigger) ? trigger : ((trigger as { values?: readonly unknown[] }).values ?? []);
    return values.every((v) => typeof v === "string") ? [values.join("")] : [];
  });
}

/**
 * Generates on a sequence straight from its token stream: erases what the sequence holds from the first token that
 * differs from `read` (the prompt, BOS included), evaluates the rest and samples until an end-of-generation token, a
 * stop string, `maxTokens` or the signal. node-llama-cpp's LlamaCompletion does the same with a stream regulator and
 * stop detectors made per request (about a tenth of a small model's throughput in-process; not on a served request's
 * critical path, where the two measured even).
 */
export async function generateOnSequence(model: LlamaModel, sequence: LlamaContextSequence, read: Token[], settings: SequenceGenerationSettings): Promise<SequenceGeneration> {
  // The prompt's last token is always evaluated again: its next-token distribution starts the answer.
  await sequence.adaptStateToTokens(read.slice(0, -1), false);
  const input = read.slice(sequence.nextTokenIndex);
  const stops = new StopText([...settings.stop, ...grammarStops(settings.grammar)]);
  const answer: Token[] = [];
  /** How much text the answer had produced after each of its tokens (a stop string included), to tell which lie before it. */
  const ends: number[] = [];
  let produced = 0;
  const partial: Token[] = [];
  /** The text of the tokens held back, read after the answer's tokens before them (spacing depends on those). */
  const partialText = () => model.detokenize(partial, false, answer.slice(-partial.length - 8, -partial.length));
  const { penalties } = settings;
  let finishReason: SequenceGeneration["finishReason"] = "stop";
  if (settings.signal.aborted) return { text: "", finishReason: "cancelled", generated: 0, kept: [] };

  const tokens = sequence.evaluate(input, {
    temperature: settings.temperature,
    ...(settings.topP !== undefined ? { topP: settings.topP } : {}),
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    ...(settings.grammar ? { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar: settings.grammar }) } : {}),
    ...(penalties
      ? { repeatPenalty: { punishTokens: () => answer, maxPunishTokens: settings.maxTokens, penalty: 1, presencePenalty: penalties.presence, frequencyPenalty: penalties.frequency } }
      : {}),
  });
  let stopped = false;
  for await (const token of tokens) {
    answer.push(token);
    partial.push(token);
    const piece = partialText();
    if (!piece.endsWith(REPLACEMENT) || partial.length >= MAX_PARTIAL_TOKENS) {
      partial.length = 0;
      produced += piece.length;
      const pushed = stops.push(piece);
      if (pushed.stream) settings.onText?.(pushed.stream);
      stopped = pushed.stopped;
    }
    ends.push(produced);
    if (stopped) break;
    if (answer.length >= settings.maxTokens) {
      finishReason = "length";
      break;
    }
    if (settings.signal.aborted) {
      finishReason = "cancelled";
      break;
    }
    // The next token is asked for a turn later, with every other sequence's: see decode-step-reads.ts.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!stopped) {
    // Bytes of a character the generation ended inside of: shown as llama.cpp detokenizes them.
    if (partial.length > 0) stops.push(partialText());
    const rest = stops.flush();
    if (rest) settings.onText?.(rest);
  }
  let text = stops.text;
  if (settings.grammar?.trimWhitespaceSuffix) text = text.trimEnd();
  // A token that holds part of the stop string is not the reply's.
  const kept = stopped ? answer.filter((_, i) => ends[i]! <= stops.text.length) : answer;
  return { text, finishReason, generated: answer.length, kept };
}
