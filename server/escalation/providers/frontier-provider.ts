import type { ProviderSettings } from "../../config/escalation-schema.js";
import type { ReportedUsage } from "../call-cost.js";

export interface FrontierMessage {
  role: "user" | "assistant";
  content: string;
}

export interface FrontierRequest {
  /** Instructions; empty when the conversation has none. */
  system: string;
  messages: FrontierMessage[];
  /** JSON schema the answer must follow (OpenAI response_format / Anthropic forced tool input); none: a text answer. */
  answerSchema?: Record<string, unknown>;
  /** OpenAI strict structured outputs, which need every property required and no additional ones. */
  strict: boolean;
  maxOutputTokens: number;
}

export interface FrontierReply {
  /** The structured answer, parsed from JSON but not yet validated; the text itself when no schema was asked for. */
  answer: unknown;
  /** The token counts the provider reported (OpenAI-compatible servers may report some, or none). */
  usage?: ReportedUsage;
  /** The answer as received, to count its tokens when the provider did not. */
  outputText: string;
}

/**
 * One call to one frontier model through its official SDK. The signal bounds the whole call, response body
 * included (the SDKs' own timeouts stop at the headers); retries, time budgets and the breaker are the caller's.
 * Failures are thrown as FrontierError, their messages free of the API key.
 */
export interface FrontierProvider {
  readonly name: string;
  readonly kind: ProviderSettings["kind"];
  readonly model: string;
  call(request: FrontierRequest, options: { signal: AbortSignal }): Promise<FrontierReply>;
}
