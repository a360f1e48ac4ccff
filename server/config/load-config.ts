import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ServingError } from "../errors/registry.js";
import { ServerConfig, type ServerConfigInput } from "./schema.js";
import { formatZodIssues } from "./zod-issues.js";

export const ENV_PREFIX = "SPECIALIST_";
export const CONFIG_FILE_ENV = "SPECIALIST_CONFIG";

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * `SPECIALIST_SERVER__PORT=9000` sets server.port; `__` separates levels and each level is written in
 * SCREAMING_SNAKE_CASE (`SPECIALIST_SERVER__BODY_LIMIT_BYTES`). Values are JSON when they parse as JSON
 * (numbers, booleans, arrays), plain strings otherwise.
 */
export function environmentOverrides(env: NodeJS.ProcessEnv): { values: Record<string, unknown>; names: string[] } {
  const values: Record<string, unknown> = {};
  const names: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split("__").map(camelCase);
    let node = values;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === "object" && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path.at(-1)!] = parseEnvValue(raw);
    names.push(name);
  }
  return { values, names };
}

function mergeDeep(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      typeof value === "object" && value !== null && !Array.isArray(value) && typeof current === "object" && current !== null && !Array.isArray(current)
        ? mergeDeep(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ServingError("ERR_CONFIG_INVALID", `cannot read config file ${path}: ${(cause as Error).message}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML is a superset of JSON, so one parser reads both.
  } catch (cause) {
    throw new ServingError("ERR_CONFIG_INVALID", `${path}: not valid YAML/JSON: ${(cause as Error).message}`, { cause });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ServingError("ERR_CONFIG_INVALID", `${path}: the top level must be a mapping of sections (server, models, metrics)`);
  }
  return parsed as Record<string, unknown>;
}

export interface LoadConfigOptions {
  /** Config file (YAML or JSON); defaults to $SPECIALIST_CONFIG when set. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Settings from the command line, applied last. */
  overrides?: ServerConfigInput;
}

/** Parsed once at start-up: file, then environment, then command line; validated strictly; frozen. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<ServerConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? env[CONFIG_FILE_ENV];
  const fromFile = file ? readConfigFile(file) : {};
  const fromEnv = environmentOverrides(env);
  const merged = mergeDeep(mergeDeep(fromFile, fromEnv.values), (options.overrides ?? {}) as Record<string, unknown>);
  const result = ServerConfig.safeParse(merged);
  if (!result.success) {
    const sources = [file ? `file ${file}` : undefined, fromEnv.names.length ? `environment ${fromEnv.names.join(", ")}` : undefined]
      .filter(Boolean)
      .join(" and ");
    throw new ServingError("ERR_CONFIG_INVALID", `invalid configuration${sources ? ` (from ${sources})` : ""}: ${formatZodIssues(result.error)}`);
  }
  return deepFreeze(result.data);
}
