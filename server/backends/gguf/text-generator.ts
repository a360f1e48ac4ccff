import { LlamaCompletion, type Llama, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import { ServingError } from "../../errors/registry.js";
import type { GenerationOptions, GenerationRequest, GenerationResult } from "../generation.js";
import { chatPrompter, genericChatPrompt } from "./chat-prompt.js";

/**
 * Generation on one sequence of a GGUF model's context, with grammars for JSON-schema output kept per schema. Chat
 * messages go through the model's chat template when it has one (`chatTemplate`: a template for one that has not).
 */
export function createTextGenerator(llama: Llama, model: LlamaModel, contextSize: number, chatTemplate?: string) {
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
    return { input: genericChatPrompt(request.messages), stop: ["\nUser:", "\nSystem:"] };
  };
  const countTokens = (input: string | Token[]) => (typeof input === "string" ? model.tokenize(input).length : input.length);

  return {
    /** Refuses, before queueing, a request that cannot fit the context; returns its prompt's token count. */
    check(request: GenerationRequest): number {
      const promptTokens = countTokens(promptOf(request).input) + 1;
      if (promptTokens + request.maxTokens > contextSize) {
        throw new ServingError(
          "ERR_INVALID_REQUEST",
          `the prompt (${promptTokens} tokens) and max_tokens (${request.maxTokens}) exceed the model's context of ${contextSize} tokens: shorten the prompt or lower max_tokens`,
        );
      }
      return promptTokens;
    },

    async generateOn(sequence: LlamaContextSequence, request: GenerationRequest, options: GenerationOptions, promptTokens: number): Promise<GenerationResult> {
      await sequence.clearHistory();
      const prompt = promptOf(request);
      const grammar = await grammarOf(request);
      const penalised = request.presencePenalty !== undefined || request.frequencyPenalty !== undefined;
      const remaining = Math.max(1, Math.ceil(options.deadline - performance.now()));
      const signal = AbortSignal.any([AbortSignal.timeout(remaining), ...(options.signal ? [options.signal] : [])]);
      const stop = [...(request.stop ?? []), ...prompt.stop];
      const completion = new LlamaCompletion({ contextSequence: sequence });
      let completionTokens = 0;
      try {
        const result = await completion.generateCompletionWithMeta(prompt.input, {
          maxTokens: request.maxTokens,
          temperature: request.temperature ?? 1,
          ...(request.topP !== undefined ? { topP: request.topP } : {}),
          ...(request.seed !== undefined ? { seed: request.seed } : {}),
          ...(stop.length > 0 ? { customStopTriggers: stop } : {}),
          ...(grammar ? { grammar } : {}),
          // OpenAI's penalties only: no multiplicative repeat penalty (node-llama-cpp's default 1.1), over the whole answer.
          ...(penalised
            ? { repeatPenalty: { penalty: 1, lastTokens: request.maxTokens, presencePenalty: request.presencePenalty ?? 0, frequencyPenalty: request.frequencyPenalty ?? 0 } }
            : {}),
          signal,
          stopOnAbortSignal: true,
          onToken: (tokens) => (completionTokens += tokens.length),
          ...(options.onText ? { onTextChunk: options.onText } : {}),
        });
        const reason = result.metadata.stopReason;
        return {
          text: result.response,
          finishReason: reason === "maxTokens" ? "length" : reason === "abort" ? "cancelled" : "stop",
          promptTokens,
          completionTokens,
        };
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    },
  };
}
