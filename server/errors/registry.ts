/**
 * One registry for every failure the runtime reports. Codes are stable: clients match on `code`,
 * never on the message. Each code carries its HTTP status so every layer answers the same way.
 */
export const ERRORS = {
  ERR_INVALID_JSON: { status: 400, summary: "The request body is not valid JSON." },
  ERR_INVALID_REQUEST: { status: 400, summary: "The request body does not match the endpoint's schema." },
  ERR_TOO_MANY_INPUTS: { status: 400, summary: "More inputs in one request than the model accepts." },
  ERR_EMPTY_INPUT: { status: 400, summary: "An input is empty or only white space: there is nothing to classify." },
  ERR_MODEL_CANNOT_GENERATE: { status: 400, summary: "The model classifies only; text generation needs a GGUF model." },
  ERR_MODEL_CANNOT_CLASSIFY: { status: 400, summary: "The model does not classify (an embedding or text-generation model)." },
  ERR_MODEL_CANNOT_EMBED: { status: 400, summary: "The model does not produce embeddings: /v1/embeddings needs an embedding model." },
  ERR_UNAUTHORIZED: { status: 401, summary: "No valid API key: send `Authorization: Bearer <key>`." },
  ERR_FORBIDDEN: { status: 403, summary: "The API key's role may not use this endpoint." },
  ERR_MODEL_NOT_FOUND: { status: 404, summary: "No model of that name is served." },
  ERR_ROUTE_NOT_FOUND: { status: 404, summary: "No such endpoint." },
  ERR_REVIEW_NOT_FOUND: { status: 404, summary: "No review item with that id (for this tenant)." },
  ERR_FILE_NOT_FOUND: { status: 404, summary: "No file with that id for this tenant." },
  ERR_BATCH_NOT_FOUND: { status: 404, summary: "No batch with that id for this tenant." },
  ERR_BODY_TOO_LARGE: { status: 413, summary: "The request body is larger than the server accepts." },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: "The request body must be application/json." },
  ERR_RELOAD_IN_PROGRESS: { status: 409, summary: "The model is already being reloaded; retry when that finishes." },
  ERR_RELOAD_FAILED: { status: 422, summary: "The requested model version is missing or failed to load; the current version keeps serving." },
  ERR_RELOAD_REJECTED: { status: 422, summary: "The new version failed the evaluation gate on the golden file; the current version keeps serving." },
  ERR_MODEL_ALREADY_SERVED: { status: 409, summary: "A model of that name is already served: reload it to change its version." },
  ERR_REVIEW_ALREADY_RESOLVED: { status: 409, summary: "A review item was already resolved (by another reviewer or an earlier request); nothing was changed." },
  ERR_REVIEW_NOT_RESOLVED: { status: 409, summary: "The review item is open: there is no label to undo." },
  ERR_CANARY_ACTIVE: { status: 409, summary: "A canary is running for this model: promote or roll it back first." },
  ERR_CANARY_NOT_FOUND: { status: 404, summary: "No canary is running for this model." },
  ERR_BATCH_FINISHED: { status: 409, summary: "The batch has already ended (completed, failed, expired or cancelled): it cannot be cancelled." },
  ERR_OUTPUT_INVALID: { status: 422, summary: "The model's output does not satisfy the requested JSON schema." },
  ERR_QUEUE_FULL: { status: 429, summary: "The model's queue is full; retry after the indicated delay." },
  ERR_CLIENT_CLOSED: { status: 499, summary: "The client closed the connection before the answer was ready." },
  ERR_INTERNAL: { status: 500, summary: "An unexpected error; the server keeps serving." },
  ERR_WORKER_FAILED: { status: 503, summary: "The inference worker failed while running this batch; it is being replaced." },
  ERR_MODEL_UNAVAILABLE: { status: 503, summary: "The model is not loaded or failed to load." },
  ERR_STATE_UNAVAILABLE: { status: 503, summary: "The shared state store (PostgreSQL or Redis) cannot be reached; retry shortly." },
  ERR_CONSOLE_NOT_BUILT: { status: 503, summary: "The console's files are not built: run `npm run build` (or set console.assets)." },
  ERR_SHUTTING_DOWN: { status: 503, summary: "The server is shutting down and accepts no new requests." },
  ERR_DEADLINE_EXCEEDED: { status: 504, summary: "The request's deadline passed before it was answered." },
  // Start-up and command-line failures: never sent over HTTP, but listed so every code lives here.
  ERR_CONFIG_INVALID: { status: 500, summary: "The configuration file or environment is invalid." },
  ERR_MANIFEST_INVALID: { status: 500, summary: "A model's model.json is invalid." },
  ERR_MODEL_LOAD_FAILED: { status: 500, summary: "A model's artifacts could not be loaded." },
  ERR_DEVICE_UNAVAILABLE: { status: 500, summary: "The requested execution device (e.g. CUDA) is not available." },
  ERR_DATA_INVALID: { status: 500, summary: "A data file for training or evaluation is invalid." },
  ERR_EVAL_GATE_FAILED: { status: 500, summary: "The evaluation gate found a regression." },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Plain shape used across worker boundaries and in HTTP bodies: class instances do not survive cloning. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class ServingError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  /** Seconds; sent as Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, options: { details?: unknown; retryAfter?: number; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].summary, { cause: options.cause });
    this.name = "ServingError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  toPayload(): ErrorPayload {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERRORS, value);
}

export function fromPayload(payload: ErrorPayload): ServingError {
  return new ServingError(payload.code, payload.message, { details: payload.details });
}
