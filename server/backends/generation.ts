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
}

export interface GenerationResult {
  text: string;
  finishReason: "stop" | "length" | "cancelled";
  promptTokens: number;
  completionTokens: number;
}

export interface GenerationOptions {
  deadline: number;
  signal?: AbortSignal;
  /** `background`: behind interactive requests (batch jobs). */
  priority?: Priority;
  /** Called with each piece of text as it is generated (streaming). */
  onText?: (text: string) => void;
}
