import { performance } from "node:perf_hooks";
import { startChild } from "./child-server.js";

/** A server not ready by then is reported, not waited for (ours and llama-server start within 3 s here, the 120M model included). */
export const READY_WITHIN_MS = 180_000;

export interface ReadyServer {
  origin: string;
  pid: number;
  /** From spawning the process to the first 200 from /readyz. */
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `serve` (with `args`, e.g. `--config FILE`) as a child process and waits until /readyz answers 200. `command`
 * runs the CLI: `[dist/cli/main.js]`, or `["--import", "tsx", "cli/main.ts"]` from source.
 */
export async function startReadyServer(command: string[], args: string[] = []): Promise<ReadyServer> {
  const started = performance.now();
  const child = await startChild([...command, "serve", "--port", "0", ...args], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
  const giveUp = started + READY_WITHIN_MS;
  for (;;) {
    if ((await fetch(`${child.origin}/readyz`).then((r) => r.status, () => 0)) === 200) break;
    if (child.process.exitCode !== null) throw new Error(`the server stopped before it was ready:\n${child.output()}`);
    if (performance.now() > giveUp) {
      await child.stop();
      throw new Error(`the server was not ready within ${READY_WITHIN_MS / 1000} s:\n${child.output().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { origin: child.origin, pid: child.process.pid!, readyMs: performance.now() - started, output: child.output, stop: child.stop };
}
