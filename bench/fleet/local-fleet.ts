import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerConfigInput } from "../../server/config/schema.js";
import { startChild, type ChildServer } from "../load/child-server.js";
import { startHaproxy, type Balancer } from "./haproxy.js";

export interface LocalFleet {
  /** The balancer's origin: what clients call. */
  origin: string;
  replicas: ChildServer[];
  /** SIGKILL, as a crashed node: no drain, no goodbye. */
  kill(index: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `replicas` server processes on one configuration (sharing whatever state it names) behind haproxy. `command` is
 * how to start the CLI: the built `dist/cli/main.js`, or `--import tsx cli/main.ts` from the sources in tests.
 */
export async function startFleet(options: { replicas: number; config: ServerConfigInput; env?: NodeJS.ProcessEnv; command: string[] }): Promise<LocalFleet> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-"));
  const file = join(dir, "config.json");
  await writeFile(file, JSON.stringify({ ...options.config, server: { ...options.config.server, port: 0 } }));
  const replicas: ChildServer[] = [];
  let balancer: Balancer | undefined;
  const stop = async () => {
    await balancer?.stop();
    await Promise.all(replicas.map((r) => (r.process.exitCode === null && r.process.signalCode === null ? r.stop() : undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // One after the other: each loads the models (and migrates the schema) on a machine with few cores.
    for (let i = 0; i < options.replicas; i++) {
      replicas.push(await startChild([...options.command, "serve", "--config", file], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info", ...options.env }));
    }
    balancer = await startHaproxy(replicas.map((r) => r.origin));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    origin: balancer.origin,
    replicas,
    async kill(index) {
      const child = replicas[index]!.process;
      child.kill("SIGKILL");
      if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    },
    stop,
  };
}
