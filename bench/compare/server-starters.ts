import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../server/config/load-config.js";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { startServer } from "../../server/http/start-server.js";
import { startChild } from "../load/child-server.js";

export interface ServerHandle {
  origin: string;
  stop(): Promise<void>;
}

/** Starts the real server with a configuration; `env` carries what the config names (API key variables). */
export type ServerStarter = (config: ServerConfigInput, env: Record<string, string>) => Promise<ServerHandle>;

/** The server as its own process (`specialist serve`), so the load generator does not share its event loop. */
export function childServers(cliPath: string): ServerStarter {
  return async (config, env) => {
    const dir = await mkdtemp(join(tmpdir(), "compare-"));
    const file = join(dir, "config.json");
    await writeFile(file, JSON.stringify(config));
    const child = await startChild([cliPath, "serve", "--config", file, "--port", "0"], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { ...env, SPECIALIST_SERVER__LOG_LEVEL: "info" });
    return {
      origin: child.origin,
      stop: async () => {
        await child.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

/** The server in this process, on a free port: for tests and small runs. */
export const inProcessServers: ServerStarter = async (config, env) => {
  Object.assign(process.env, env);
  const server = await startServer(loadConfig({ env: {}, overrides: { ...config, server: { port: 0, logLevel: "warn", ...config.server } } }));
  return { origin: server.url, stop: () => server.close() };
};
