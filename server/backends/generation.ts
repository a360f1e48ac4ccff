import type { Priority } from "../batching/dynamic-batcher.js";

/** Text generation, for backends that can (GGUF); the OpenAI-compatible routes speak to this. */
export interface GenerationRequest {
  /** Either a plain prompt (completions) or chat messages, which the backend turns into its prompt. */
  prompt?: string;
  messages?: Array<{ role: "system" | "user" | "assistant"; content: string }>;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Output constrained by a grammar built from this JSON schema. */
  jsonSchema?: Record<string, unknown>;
  /** Output constrained to any JSON object (OpenAI's `json_object`). */
  jsonObject?: boolean;
  /** OpenAI's penalties, -2…2: lower a token's logit once it has appeared (presence) and per time it has (frequency). */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Score the answer: each token's log-probability, with this many likeliest alternatives (0: none). */
  logprobs?: number;
}

/** One answer token's log-probability under the model, and the likeliest alternatives at that step. */
export interface TokenLogprob {
  token: string;
  /** UTF-8 bytes of `token` (a token holding part of a character shows as U+FFFD). */
  bytes: number[];
  logprob: number;
  top: Array<{ token: string; bytes: number[]; logprob: number }>;
}

export interface GenerationResult {
  text: string;
  finishReason: "stop" | "length" | "cancelled";
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt's tokens, those already in the sequence's KV cache from an earlier request (gguf.reusePrefix). */
  cachedPromptTokens?: number;
  /** With `logprobs` asked for: the answer's tokens, scored. */
  logprobs?: TokenLogprob[];
}

export interface GenerationOptions {
  deadline: number;
  signal?: AbortSignal;
  /** `background`: behind interactive requests (batch jobs). */
  priority?: Priority;
  /** Called with each piece of text as it is generated (streaming). */
  onText?: (text: string) => void;
}
