import { randomUUID } from "node:crypto";
import { formatZodIssues } from "../config/zod-issues.js";
import { ServingError } from "../errors/registry.js";
import type { Caller } from "../serving/caller.js";
import { ClassifyRequest } from "../serving/classify-protocol.js";
import { ChatCompletionBody, CompletionBody } from "../serving/completion-protocol.js";
import { EmbeddingRequest } from "../serving/embedding-protocol.js";
import type { ServingCore } from "../serving/serving-core.js";

/** The endpoints a batch may target, as OpenAI names them in `endpoint` and in each line's `url`. */
export const BATCH_ENDPOINTS = ["/v1/classify", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export type ParsedLine = { ok: true; customId: string; body: unknown } | { ok: false; customId: string | null; code: string; message: string };

/** One input line: `{"custom_id": "…", "method": "POST", "url": "<the batch's endpoint>", "body": {…}}`. */
export function parseLine(text: string, endpoint: BatchEndpoint): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, customId: null, code: "invalid_json", message: "the line is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, customId: null, code: "invalid_line", message: "the line is not a JSON object" };
  const line = value as Record<string, unknown>;
  const customId = typeof line.custom_id === "string" && line.custom_id !== "" && line.custom_id.length <= 512 ? line.custom_id : null;
  const fail = (code: string, message: string): ParsedLine => ({ ok: false, customId, code, message });
  if (customId === null) return fail("missing_custom_id", "custom_id must be a non-empty string of at most 512 characters");
  if (line.method !== "POST") return fail("invalid_method", `method must be "POST"`);
  if (line.url !== endpoint) return fail("mismatched_url", `url must be the batch's endpoint, "${endpoint}"`);
  if (typeof line.body !== "object" || line.body === null || Array.isArray(line.body)) return fail("invalid_body", "body must be a JSON object");
  return { ok: true, customId, body: line.body };
}

/** What a line got: the status and body an HTTP request with the same body would have got. */
export interface LineResult {
  statusCode: number;
  body: unknown;
}

const errorBody = (error: ServingError) => ({ error: error.toPayload() });

/** Runs one line's body through the serving layer, as the endpoint's route would, without HTTP. */
export async function executeLine(core: Pick<ServingCore, "classify" | "completions" | "embeddings">, endpoint: BatchEndpoint, body: unknown, caller: Caller): Promise<LineResult> {
  try {
    if (endpoint === "/v1/embeddings") {
      const request = EmbeddingRequest.safeParse(body);
      if (!request.success) throw new ServingError("ERR_INVALID_REQUEST", formatZodIssues(request.error));
      return { statusCode: 200, body: await core.embeddings.embed(request.data, caller) };
    }
    if (endpoint === "/v1/classify") {
      const request = ClassifyRequest.safeParse(body);
      if (!request.success) throw new ServingError("ERR_INVALID_REQUEST", formatZodIssues(request.error));
      return { statusCode: 200, body: await core.classify.classify(request.data, caller) };
    }
    const chat = endpoint === "/v1/chat/completions";
    const request = (chat ? ChatCompletionBody : CompletionBody).safeParse(body);
    if (!request.success) throw new ServingError("ERR_INVALID_REQUEST", formatZodIssues(request.error));
    if (request.data.stream) throw new ServingError("ERR_INVALID_REQUEST", "stream: a batch line cannot be streamed; leave it out");
    return { statusCode: 200, body: await core.completions.prepare(request.data, chat, caller).complete() };
  } catch (error) {
    const serving = error instanceof ServingError ? error : new ServingError("ERR_INTERNAL", "the line failed unexpectedly");
    return { statusCode: serving.status, body: errorBody(serving) };
  }
}

/** Failures that may pass if the line is tried again later: a full queue, a deadline, a worker being replaced. */
export function isPassing(result: LineResult): boolean {
  return result.statusCode === 429 || result.statusCode === 503 || result.statusCode === 504;
}

/** An output or error file line in OpenAI's format: the line's answer, keyed by its custom_id. */
export function resultLine(customId: string, requestId: string, result: LineResult): string {
  return JSON.stringify({ id: `batch_req_${randomUUID().replaceAll("-", "")}`, custom_id: customId, response: { status_code: result.statusCode, request_id: requestId, body: result.body }, error: null });
}

/** An error file line for an input line that could not be run at all. `line` lets a resumed job skip it. */
export function invalidLine(customId: string | null, lineNumber: number, code: string, message: string): string {
  return JSON.stringify({ id: `batch_req_${randomUUID().replaceAll("-", "")}`, custom_id: customId, response: null, error: { code, message, line: lineNumber } });
}
