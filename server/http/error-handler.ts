import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { ERRORS, ServingError, type ErrorCode } from "../errors/registry.js";
import { StateUnavailable } from "../state/state-unavailable.js";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "ERR_BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "ERR_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "ERR_INVALID_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "ERR_INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "ERR_INVALID_REQUEST",
  FST_ERR_CTP_INVALID_CONTENT_TYPE: "ERR_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_TYPE: "ERR_UNSUPPORTED_MEDIA_TYPE",
  // @fastify/multipart (file uploads of the Batch API)
  FST_REQ_FILE_TOO_LARGE: "ERR_BODY_TOO_LARGE",
  FST_FILES_LIMIT: "ERR_INVALID_REQUEST",
  FST_FIELDS_LIMIT: "ERR_INVALID_REQUEST",
  FST_PARTS_LIMIT: "ERR_INVALID_REQUEST",
  FST_INVALID_MULTIPART_CONTENT_TYPE: "ERR_UNSUPPORTED_MEDIA_TYPE",
};

/** Any error → one ServingError, so every failure leaves the server with a stable code. */
export function toServingError(error: unknown): ServingError {
  if (error instanceof ServingError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({ path: v.instancePath || "/", message: v.message ?? "invalid" }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    return new ServingError("ERR_INVALID_REQUEST", `invalid request body: ${summary}`, { details: issues });
  }
  const fastifyError = error as FastifyError;
  const mapped = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) {
    const message = mapped === "ERR_UNSUPPORTED_MEDIA_TYPE" ? `${ERRORS[mapped].summary} (${fastifyError.message})` : fastifyError.message;
    return new ServingError(mapped, message);
  }
  // JSON.parse failures from fastify's body parser arrive as SyntaxError with statusCode 400.
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new ServingError("ERR_INVALID_JSON", `the request body is not valid JSON: ${error.message}`);
  }
  if (typeof fastifyError?.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ServingError("ERR_INVALID_REQUEST", fastifyError.message);
  }
  if (error instanceof StateUnavailable) return new ServingError("ERR_STATE_UNAVAILABLE", error.message);
  return new ServingError("ERR_INTERNAL", "internal error; the server logged the details", { cause: error });
}

export function sendError(reply: FastifyReply, error: ServingError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header("retry-after", String(error.retryAfter));
  return reply.status(error.status).send({ error: error.toPayload() });
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const serving = toServingError(error);
  if (serving.code === "ERR_INTERNAL") {
    request.log.error({ err: serving.cause ?? serving, code: serving.code }, serving.message);
  } else if (serving.status >= 500 && serving.code !== "ERR_SHUTTING_DOWN") {
    // Expected operational failures (deadline, worker replaced, model unavailable): one line, no stack.
    request.log.warn({ code: serving.code }, serving.message);
  }
  return sendError(reply, serving);
}
