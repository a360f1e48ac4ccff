import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environmentOverrides, loadConfig } from "../../server/config/load-config.js";
import { ServingError } from "../../server/errors/registry.js";

const noEnv = {} as NodeJS.ProcessEnv;

function configFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "config-"));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function failure(run: () => unknown): ServingError {
  try {
    run();
  } catch (error) {
    return error as ServingError;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("configuration", () => {
  it("has documented defaults: loopback, port 8080, 1 MiB bodies, 10 s deadline", () => {
    const config = loadConfig({ env: noEnv });
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 8080, bodyLimitBytes: 1_048_576, requestDeadlineMs: 10_000 });
    expect(config.models).toMatchObject({ repository: "models", serve: "all", exitOnLoadError: true });
  });

  it("is frozen after parsing", () => {
    const config = loadConfig({ env: noEnv });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it("reads YAML and JSON files", () => {
    const yaml = configFile("c.yaml", "server:\n  port: 9001\nmodels:\n  serve: [email-spam]\n");
    expect(loadConfig({ file: yaml, env: noEnv }).server.port).toBe(9001);
    const json = configFile("c.json", JSON.stringify({ server: { port: 9002 } }));
    expect(loadConfig({ file: json, env: noEnv }).server.port).toBe(9002);
  });

  it("rejects an unknown key, naming its path", () => {
    const file = configFile("c.yaml", "server:\n  prot: 9000\n");
    const error = failure(() => loadConfig({ file, env: noEnv }));
    expect(error.code).toBe("ERR_CONFIG_INVALID");
    expect(error.message).toContain("server: Unrecognized key");
    expect(error.message).toContain("prot");
    expect(error.message).toContain(file);
  });

  it("rejects a wrong value, naming its path", () => {
    const file = configFile("c.yaml", "server:\n  port: eighty\nmodels:\n  overrides:\n    email-spam:\n      batching:\n        maxBatchSize: 0\n");
    const error = failure(() => loadConfig({ file, env: noEnv }));
    expect(error.message).toContain("server.port:");
    expect(error.message).toContain("models.overrides.email-spam.batching.maxBatchSize:");
  });

  it("applies environment overrides after the file, and names them in errors", () => {
    const file = configFile("c.yaml", "server:\n  port: 9000\n");
    const env = { SPECIALIST_SERVER__PORT: "9100", SPECIALIST_SERVER__BODY_LIMIT_BYTES: "2048", SPECIALIST_MODELS__SERVE: '["a","b"]' };
    const config = loadConfig({ file, env });
    expect(config.server.port).toBe(9100);
    expect(config.server.bodyLimitBytes).toBe(2048);
    expect(config.models.serve).toEqual(["a", "b"]);
    const error = failure(() => loadConfig({ env: { SPECIALIST_SERVER__PORTT: "1" } }));
    expect(error.message).toContain("SPECIALIST_SERVER__PORTT");
    expect(error.message).toContain("portt");
  });

  it("reads the file named by SPECIALIST_CONFIG", () => {
    const file = configFile("c.yaml", "server:\n  port: 9300\n");
    expect(loadConfig({ env: { SPECIALIST_CONFIG: file } }).server.port).toBe(9300);
  });

  it("maps SCREAMING_SNAKE env names to camelCase paths", () => {
    expect(environmentOverrides({ SPECIALIST_SERVER__REQUEST_DEADLINE_MS: "500", OTHER: "x" }).values).toEqual({
      server: { requestDeadlineMs: 500 },
    });
  });

  it("reports a file that is not YAML", () => {
    const file = configFile("c.yaml", "server: [unclosed\n");
    expect(failure(() => loadConfig({ file, env: noEnv })).message).toContain("not valid YAML/JSON");
  });
});
