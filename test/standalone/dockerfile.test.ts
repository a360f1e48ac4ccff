import { existsSync, readFileSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/tenants.js";
import { loadConfig } from "../../server/config/load-config.js";
import { SERVER_MALLOC_ENV } from "../../bench/load/server-malloc-env.js";

// No Docker engine runs here: these check that Dockerfile.cuda agrees with the code it packages.
const root = new URL("../../", import.meta.url).pathname;
const dockerfile = readFileSync(join(root, "Dockerfile.cuda"), "utf8");
const instructions = dockerfile.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /^[A-Z]+\s/.test(l));

/** The ENV of the final stage, as the server process sees it. */
function finalEnv(): Record<string, string> {
  const stages = instructions.map((l, i) => (l.startsWith("FROM ") ? i : -1)).filter((i) => i >= 0);
  const env: Record<string, string> = {};
  for (const line of instructions.slice(stages.at(-1))) {
    if (!line.startsWith("ENV ")) continue;
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z0-9_]+)=(\S+)/g)) env[key!] = value!;
  }
  return env;
}

describe("Dockerfile.cuda", () => {
  it("copies only what exists and starts the CLI the package declares", () => {
    for (const line of instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from"))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
    }
    const bin = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).bin.specialist as string;
    expect(dockerfile).toContain(`ENTRYPOINT ["node", "${bin}", "serve"]`);
    expect(dockerfile).toMatch(/^USER specialist$/m);
    expect(instructions.find((l) => l.startsWith("HEALTHCHECK"))).toContain("/readyz");
  });

  it("asks onnxruntime-node for its CUDA 12 files and checks they arrived where the server looks for them", () => {
    const build = instructions.filter((l) => l.startsWith("ENV ")).join(" ");
    expect(build).toContain("ONNXRUNTIME_NODE_INSTALL=true");
    expect(build).toContain("ONNXRUNTIME_NODE_INSTALL_CUDA=v12");
    const session = readFileSync(join(root, "server/backends/onnx/session.ts"), "utf8");
    expect(session).toContain('"bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so"');
    expect(dockerfile).toContain("test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so");
    expect(instructions.some((l) => l.startsWith("COPY") && l.includes(".npmrc"))).toBe(false);
  });

  it("sets an environment the configuration accepts with tenants, and refuses to run open on 0.0.0.0", () => {
    const env = finalEnv();
    expect(env).toMatchObject({ SPECIALIST_SERVER__HOST: "0.0.0.0", SPECIALIST_MODELS__REPOSITORY: "/models", SPECIALIST_CONFIG: "/config/specialist.yaml" });
    const dir = mkdtempSync(join(tmpdir(), "docker-config-"));
    try {
      const withTenants = join(dir, "with-tenants.json");
      writeFileSync(withTenants, JSON.stringify({ auth: { tenants: { ops: { keys: [hashApiKey("sk-ops-0123456789")], role: "admin" } } } }));
      const config = loadConfig({ env: { ...env, SPECIALIST_CONFIG: withTenants } });
      expect(config.server).toMatchObject({ host: "0.0.0.0", port: 8080 });
      expect(config.models.repository).toBe("/models");
      expect(config.ledger.path).toBe("/data/ledger.sqlite");
      const open = join(dir, "open.json");
      writeFileSync(open, "{}");
      expect(() => loadConfig({ env: { ...env, SPECIALIST_CONFIG: open } })).toThrow(/configure auth.tenants/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the server with the malloc settings the benches measured, as `npm start` does", () => {
    expect(finalEnv()).toMatchObject(SERVER_MALLOC_ENV);
    const start = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.start as string;
    for (const [key, value] of Object.entries(SERVER_MALLOC_ENV)) expect(start).toMatch(new RegExp(`${key}=${value} .*node dist/cli/main\\.js serve$`));
  });
});
