import { JinjaTemplateChatWrapper, resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";
import type { GenerationRequest } from "../generation.js";

type Messages = NonNullable<GenerationRequest["messages"]>;
const ROLE = { system: "System", user: "User", assistant: "Assistant" } as const;

/** What ends a reply in the generic prompt: the model starting the next turn. */
export const GENERIC_CHAT_STOP = ["\nUser:", "\nSystem:"];

/** Chat messages as one prompt, for models without a chat template of their own; the reply follows "Assistant:". */
export function genericChatPrompt(messages: Messages): string {
  return messages.map((m) => `${ROLE[m.role]}: ${m.content}\n`).join("") + "Assistant:";
}

/** A chat prompt as tokens, and what ends the model's turn. */
export interface ChatPrompt {
  tokens: Token[];
  stop: string[];
}

/**
 * Turns chat messages into the model's own prompt: the chat template in the GGUF's metadata (node-llama-cpp picks
 * its wrapper for a known template, else renders the Jinja template itself), or `override` (gguf.chatTemplate) for a
 * model that has none. A model with neither gets the generic `User:`/`Assistant:` prompt.
 */
export function chatPrompter(model: LlamaModel, override: string | undefined): ((messages: Messages) => ChatPrompt) | undefined {
  const template = model.fileInfo.metadata.tokenizer?.chat_template;
  let wrapper: ChatWrapper;
  if (override !== undefined) wrapper = new JinjaTemplateChatWrapper({ template: override, tokenizer: model.tokenizer });
  else if (typeof template === "string" && template.length > 0) wrapper = resolveChatWrapper(model);
  else return undefined;
  return (messages) => {
    const chatHistory: ChatHistoryItem[] = messages.map((m) =>
      m.role === "assistant" ? { type: "model", response: [m.content] } : { type: m.role, text: m.content },
    );
    // An empty model turn at the end: the context ends where the model's reply begins.
    chatHistory.push({ type: "model", response: [] });
    const state = wrapper.generateContextState({ chatHistory });
    let tokens = state.contextText.tokenize(model.tokenizer);
    // llama.cpp's completion adds BOS itself when the metadata asks for it; a template that writes one too would double it.
    if (model.tokens.bos !== null && tokens[0] === model.tokens.bos) tokens = tokens.slice(1);
    return { tokens, stop: state.stopGenerationTriggers.map((trigger) => trigger.toString()).filter((s) => s.length > 0) };
  };
}
