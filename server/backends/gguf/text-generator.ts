import { LlamaVocabularyType, type Llama, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import { ServingError } from "../../errors/registry.js";
import type { GenerationOptions, GenerationRequest, GenerationResult } from "../generation.js";
import { scoreAnswer } from "./answer-scorer.js";
import { generateOnSequence } from "./sequence-generation.js";
import { chatPrompter, GENERIC_CHAT_STOP, genericChatPrompt } from "./chat-prompt.js";

/** Whether llama.cpp's completion puts a BOS token before the prompt (node-llama-cpp's rule, by vocabulary type). */
function prependsBos(model: LlamaModel): boolean {
  if (model.tokens.bos === null) return false;
  if (model.vocabularyType === LlamaVocabularyType.wpm) return true;
  if (model.vocabularyType === LlamaVocabularyType.rwkv || model.vocabularyType === LlamaVocabularyType.ugm) return false;
  return model.tokens.shouldPrependBosToken;
}

/** A request's prompt as llama.cpp will read it, made once when the request is checked and carried to its turn. */
export interface PreparedPrompt {
  /** Without the BOS token llama.cpp's completion adds itself. */
  tokens: Token[];
  /** What ends a chat reply in this template. */
  stop: string[];
  /** Tokens the model reads, BOS included: the usage figure. */
  count: number;
}

/**
 * Generation on one sequence of a GGUF model's context, with grammars for JSON-schema output kept per schema. Chat
 * messages go through the model's chat template when it has one (`chatTemplate`: a template for one that has not).
 */
export function createTextGenerator(llama: Llama, model: LlamaModel, contextSize: number, options: { chatTemplate?: string; reusePrefix: boolean }) {
  const { chatTemplate, reusePrefix } = options;
  const templated = chatPrompter(model, chatTemplate);
  const grammars = new Map<string, Promise<LlamaGrammar>>();
  const grammarFor = (schema: Record<string, unknown>) => {
    const key = JSON.stringify(schema);
    let grammar = grammars.get(key);
    if (!grammar) {
      if (grammars.size >= 64) grammars.delete(grammars.keys().next().value!);
      grammar = llama.createGrammarForJsonSchema(schema as Parameters<Llama["createGrammarForJsonSchema"]>[0]).catch((error: Error) => {
        grammars.delete(key);
        throw new ServingError("ERR_INVALID_REQUEST", `response_format.json_schema cannot be turned into a grammar: ${error.message}`);
      });
      grammars.set(key, grammar);
    }
    return grammar;
  };

  let jsonGrammar: Promise<LlamaGrammar> | undefined;
  const grammarOf = (request: GenerationRequest) =>
    request.jsonSchema ? grammarFor(request.jsonSchema) : request.jsonObject ? (jsonGrammar ??= llama.getGrammarFor("json")) : undefined;

  /** The prompt as llama.cpp will read it, and what ends a chat reply. */
  const promptOf = (request: GenerationRequest): { input: string | Token[]; stop: string[] } => {
    if (request.prompt !== undefined || !request.messages) return { input: request.prompt ?? "", stop: [] };
    if (templated) {
      const chat = templated(request.messages);
      return { input: chat.tokens, stop: chat.stop };
    }
    return { input: genericChatPrompt(request.messages), stop: GENERIC_CHAT_STOP };
  };
  const bos = prependsBos(model);
  /** The prompt's tokens as llama.cpp's completion reads a string, without the BOS it adds itself. */
  const tokensOf = (input: string | Token[]) => (typeof input === "string" ? model.tokenize(input, false, bos ? "trimLeadingSpace" : undefined) : input);

  return {
    /** Renders and tokenizes the prompt; refuses, before queueing, a request that cannot fit the context. */
    check(request: GenerationRequest): PreparedPrompt {
      const prompt = promptOf(request);
      const tokens = tokensOf(prompt.input);
      const promptTokens = tokens.length + (bos ? 1 : 0);
      if (promptTokens + request.maxTokens > contextSize) {
        throw new ServingError(
          "ERR_INVALID_REQUEST",
          `the prompt (${promptTokens} tokens) and max_tokens (${request.maxTokens}) exceed the model's context of ${contextSize} tokens: shorten the prompt or lower max_tokens`,
        );
      }
      return { tokens, stop: prompt.stop, count: promptTokens };
    },

    async generateOn(sequence: LlamaContextSequence, request: GenerationRequest, options: GenerationOptions, prompt: PreparedPrompt): Promise<GenerationResult> {
      // With reusePrefix, what the sequence holds that begins this prompt (a system prompt, the conversation so far)
      // stays in its KV cache: the generation erases only from the first token that differs, as llama-server's
      // cache_prompt does. Off, every generation evaluates its whole prompt.
      if (!reusePrefix) await sequence.clearHistory();
      const input = prompt.tokens;
      const read = bos ? [model.tokens.bos!, ...input] : input;
      // The generation always evaluates the prompt's last token again (its next-token distribution starts the answer).
      const cachedPromptTokens = Math.min(sequence.compareContextTokens(read).firstDifferentIndex, read.length - 1);
      const grammar = await grammarOf(request);
      const penalised = request.presencePenalty !== undefined || request.frequencyPenalty !== undefined;
      const remaining = Math.max(1, Math.ceil(options.deadline - performance.now()));
      // An offline run (calibration, evaluation) has no deadline.
      const signal = AbortSignal.any([...(Number.isFinite(remaining) ? [AbortSignal.timeout(remaining)] : []), ...(options.signal ? [options.signal] : [])]);
      const result = await generateOnSequence(model, sequence, read, {
        maxTokens: request.maxTokens,
        temperature: request.temperature ?? 1,
        ...(request.topP !== undefined ? { topP: request.topP } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        stop: [...(request.stop ?? []), ...prompt.stop],
        ...(grammar ? { grammar } : {}),
        ...(penalised ? { penalties: { presence: request.presencePenalty ?? 0, frequency: request.frequencyPenalty ?? 0 } } : {}),
        signal,
        ...(options.onText ? { onText: options.onText } : {}),
      });
      const scored = request.logprobs !== undefined && result.finishReason !== "cancelled";
      return {
        text: result.text,
        finishReason: result.finishReason,
        promptTokens: prompt.count,
        completionTokens: result.generated,
        cachedPromptTokens,
        ...(scored ? { logprobs: await scoreAnswer(model, sequence, read, result.kept, request.logprobs!) } : {}),
      };
    },
  };
}
