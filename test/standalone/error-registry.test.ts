import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERRORS, ServingError, fromPayload } from "../../server/errors/registry.js";

describe("error registry", () => {
  it("pins every code to its HTTP status", () => {
    // Clients match on these: changing one is a breaking change, so this list changes only on purpose.
    expect(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status]))).toEqual({
      ERR_INVALID_JSON: 400,
      ERR_INVALID_REQUEST: 400,
      ERR_TOO_MANY_INPUTS: 400,
      ERR_EMPTY_INPUT: 400,
      ERR_MODEL_CANNOT_GENERATE: 400,
      ERR_MODEL_CANNOT_CLASSIFY: 400,
      ERR_MODEL_CANNOT_EMBED: 400,
      ERR_UNAUTHORIZED: 401,
      ERR_FORBIDDEN: 403,
      ERR_MODEL_NOT_FOUND: 404,
      ERR_ROUTE_NOT_FOUND: 404,
      ERR_REVIEW_NOT_FOUND: 404,
      ERR_FILE_NOT_FOUND: 404,
      ERR_BATCH_NOT_FOUND: 404,
      ERR_BODY_TOO_LARGE: 413,
      ERR_UNSUPPORTED_MEDIA_TYPE: 415,
      ERR_RELOAD_IN_PROGRESS: 409,
      ERR_RELOAD_FAILED: 422,
      ERR_RELOAD_REJECTED: 422,
      ERR_MODEL_ALREADY_SERVED: 409,
      ERR_REVIEW_ALREADY_RESOLVED: 409,
      ERR_REVIEW_NOT_RESOLVED: 409,
      ERR_CANARY_ACTIVE: 409,
      ERR_CANARY_NOT_FOUND: 404,
      ERR_BATCH_FINISHED: 409,
      ERR_OUTPUT_INVALID: 422,
      ERR_QUEUE_FULL: 429,
      ERR_CLIENT_CLOSED: 499,
      ERR_INTERNAL: 500,
      ERR_WORKER_FAILED: 503,
      ERR_MODEL_UNAVAILABLE: 503,
      ERR_STATE_UNAVAILABLE: 503,
      ERR_CONSOLE_NOT_BUILT: 503,
      ERR_SHUTTING_DOWN: 503,
      ERR_DEADLINE_EXCEEDED: 504,
      ERR_CONFIG_INVALID: 500,
      ERR_MANIFEST_INVALID: 500,
      ERR_MODEL_LOAD_FAILED: 500,
      ERR_DEVICE_UNAVAILABLE: 500,
      ERR_DATA_INVALID: 500,
      ERR_EVAL_GATE_FAILED: 500,
    });
  });

  it("is documented in the README's error table", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const code of Object.keys(ERRORS)) expect(readme, code).toContain(`\`${code}\``);
  });

  it("crosses a structured clone as plain data and comes back with its code and status", () => {
    const error = new ServingError("ERR_QUEUE_FULL", "full", { details: { depth: 3 } });
    const copy = fromPayload(structuredClone(error.toPayload()));
    expect(copy).toBeInstanceOf(ServingError);
    expect(copy.code).toBe("ERR_QUEUE_FULL");
    expect(copy.status).toBe(429);
    expect(copy.details).toEqual({ depth: 3 });
  });
});
