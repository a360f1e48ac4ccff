import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { LRUCache } from "lru-cache";
import { ServingError } from "../errors/registry.js";

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new LRUCache<string, ValidateFunction>({ max: 256 });

/**
 * The compiled validator of a request's schema. Ajv keeps every schema it compiles (and refuses a second one with
 * the same `$id`), so each schema is dropped from Ajv once compiled and the validators live in a bounded cache.
 */
function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new ServingError("ERR_INVALID_REQUEST", `response_format.json_schema.schema is not a valid JSON schema: ${(error as Error).message}`);
    } finally {
      ajv.removeSchema(schema);
    }
    validators.set(key, validate);
  }
  return validate;
}

/** The schema's complaints about a value, or undefined when it is valid. */
export function schemaErrors(value: unknown, schema: Record<string, unknown>): ErrorObject[] | undefined {
  const validate = validatorFor(schema);
  return validate(value) ? undefined : (validate.errors ?? []);
}

/** Compiles the schema now, so an invalid one is a 400 before any generation starts. */
export function checkSchema(schema: Record<string, unknown>): void {
  validatorFor(schema);
}

/** Grammars cannot express numeric bounds or patterns: the finished output is checked against the whole schema. */
export function invalidOutput(text: string, schema: Record<string, unknown>): ServingError | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new ServingError("ERR_OUTPUT_INVALID", "the model's output is not complete JSON (max_tokens may have cut it)", { details: { output: text.slice(0, 500) } });
  }
  const errors = schemaErrors(value, schema);
  return errors ? new ServingError("ERR_OUTPUT_INVALID", "the model's output does not satisfy the JSON schema", { details: { errors, output: text.slice(0, 500) } }) : undefined;
}
