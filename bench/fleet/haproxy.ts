import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./state-servers.js";

export const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"].find((p) => existsSync(p));

export interface Balancer {
  origin: string;
  stop(): Promise<void>;
}

/**
 * Debian's haproxy in front of the replicas, as a fleet's load balancer: round robin, each replica health-checked
 * on /readyz every 200 ms (out after 2 failures), and a request whose connection failed sent to another replica.
 */
export async function startHaproxy(backends: string[]): Promise<Balancer> {
  if (!HAPROXY) throw new Error("haproxy not found (Debian package haproxy; scripts/install-test-services.sh installs it)");
  const dir = await mkdtemp(join(tmpdir(), "haproxy-"));
  const port = await freePort();
  const servers = backends.map((origin, i) => `  server r${i} ${new URL(origin).host} check`).join("\n");
  const config = `global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
frontend fleet
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 200ms fall 2 rise 2
${servers}
`;
  const file = join(dir, "haproxy.cfg");
  await writeFile(file, config);
  const child: ChildProcess = spawn(HAPROXY, ["-f", file, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const until = Date.now() + 15_000;
  // Ready once the balancer answers through a healthy replica.
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${output}`);
    const ok = await fetch(`${origin}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > until) throw new Error(`haproxy did not route to a ready replica within 15 s: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    origin,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
