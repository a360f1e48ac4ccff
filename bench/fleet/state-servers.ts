import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import pg from "pg";

/**
 * Real PostgreSQL and Redis servers on free loopback ports, from Debian's `postgresql` and `redis-server` packages
 * (`scripts/install-test-services.sh` installs them): for the tests of the shared state and `bench fleet`. Each
 * caller starts its own in a temporary folder and stops them after; nothing is left running.
 */

const ROOT = process.getuid?.() === 0;

function postgresBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  return undefined;
}

function redisBin(): string | undefined {
  return ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
}

/** Why the servers cannot start here, or undefined when they can. */
export function stateServersMissing(): string | undefined {
  if (!postgresBin()) return "PostgreSQL server binaries not found (Debian package postgresql)";
  if (!redisBin()) return "redis-server not found (Debian package redis-server)";
  if (ROOT && spawnSync("id", ["postgres"]).status !== 0) return "running as root without a postgres user to run PostgreSQL as";
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const asPostgres = (command: string, args: string[]): [string, string[]] => (ROOT ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]);

async function waitFor(check: () => Promise<boolean>, what: string, child: ChildProcess, output: () => string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${output()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start within ${ms} ms: ${output()}`);
}

function started(command: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text = (text + d.toString()).slice(-4000)));
  child.stderr!.on("data", (d: Buffer) => (text = (text + d.toString()).slice(-4000)));
  return { child, output: () => text };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

export interface PostgresServer {
  /** A fresh, empty database; dropped by `stop`. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export interface RedisServer {
  url: string;
  /** Stops the server (to test what a lost Redis does); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A PostgreSQL cluster of its own in a temporary folder, on a free loopback port, trusting local connections. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin()!;
  const dir = await mkdtemp(join(tmpdir(), "test-postgres-"));
  await chmod(dir, 0o777);
  const data = join(dir, "data");
  const [initCmd, initArgs] = asPostgres(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [cmd, args] = asPostgres(join(bin, "postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300"]);
  const server = started(cmd, args);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = async (sql: string) => {
    const client = new pg.Client(adminUrl);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await waitFor(() => admin("SELECT 1").then(() => true), "postgres", server.child, server.output);
  const databases: string[] = [];
  return {
    async newDatabase() {
      const name = `t_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
      await admin(`CREATE DATABASE ${name}`);
      databases.push(name);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      for (const name of databases) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await stopChild(server.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const redisUp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

/** A redis-server on a free loopback port, keeping nothing on disk. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let server: ReturnType<typeof started> | undefined;
  const start = async () => {
    server = started(redisBin()!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    const current = server;
    await waitFor(() => redisUp(port), "redis-server", current.child, current.output);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      if (server) await stopChild(server.child);
    },
  };
}
