import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { access, constants } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { freePort } from "../fleet/state-servers.js";
import { READY_WITHIN_MS } from "../load/ready-server.js";

export interface PeerSettings {
  /** The llama-server binary (or its wrapper script). */
  binary: string;
  model: string;
  threads: number;
  /** Parallel slots (-np), as many as the served model's sequences. */
  slots: number;
  /** Context per slot: llama-server's -c is the total, split between its slots. */
  contextPerSlot: number;
  /** A Jinja chat template file that renders the same prompt text as the other server. */
  chatTemplateFile: string;
}

export interface PeerProcess {
  origin: string;
  process: ChildProcess;
  /** Milliseconds from spawning to the first healthy answer. */
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

/** Why the peer cannot run here, or undefined when it can: a missing binary is a skip, not a failure. */
export async function peerUnavailable(binary: string | undefined): Promise<string | undefined> {
  if (!binary) return "no --llama-server given";
  try {
    await access(binary, constants.X_OK);
  } catch {
    return `${binary} is missing or not executable`;
  }
  return undefined;
}

/**
 * Starts llama.cpp's own server with the settings that pair it with a served GGUF and waits for /health to
 * answer 200 (503 while the model loads). A binary built for another CPU dies with SIGILL: that is reported as such.
 */
export async function startPeer(settings: PeerSettings): Promise<PeerProcess> {
  const port = await freePort();
  const args = ["-m", settings.model, "--host", "127.0.0.1", "--port", String(port), "-t", String(settings.threads), "-tb", String(settings.threads)];
  args.push("-np", String(settings.slots), "-c", String(settings.slots * settings.contextPerSlot), "--jinja", "--chat-template-file", settings.chatTemplateFile, "--no-webui");
  // Its prompt cache in host memory (8 GiB by default) keeps every prompt it has seen; a benchmark cycling through
  // its inputs would then measure cache hits from the second pass on. Ours runs with its response cache off for the
  // same reason; both keep the prefix each slot (sequence) holds.
  args.push("--cache-ram", "0");
  const started = performance.now();
  const child = spawn(settings.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  // It logs every request: only the end is kept, for the error message.
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = once(child, "exit").then(([code, signal]) => {
    const why = signal === "SIGILL" ? "an illegal instruction (built for another CPU's features)" : `exit ${code ?? signal}`;
    throw new Error(`llama-server stopped with ${why}:\n${output.slice(-2000)}`);
  });
  const origin = `http://127.0.0.1:${port}`;
  const healthy = (async () => {
    for (;;) {
      const ok = await fetch(`${origin}/health`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      if (performance.now() - started > READY_WITHIN_MS) {
        child.kill("SIGKILL");
        throw new Error(`llama-server was not healthy within ${READY_WITHIN_MS / 1000} s:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const readyMs = await Promise.race([healthy, exited]);
  exited.catch(() => undefined);
  return {
    origin,
    process: child,
    readyMs,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/** What the binary says it is (`--version`), for the results file. */
export async function peerVersion(binary: string): Promise<string> {
  const child = spawn(binary, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await once(child, "exit");
  return output.split("\n").filter((line) => /^(version|built with)/.test(line)).join("; ") || output.trim().slice(0, 200);
}
