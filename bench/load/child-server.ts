import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { SERVER_MALLOC_ENV } from "./server-malloc-env.js";

export interface ChildServer {
  origin: string;
  process: ChildProcess;
  /** Everything the process has written to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a server as a separate process (with the deployment's malloc settings) and waits for the line that tells its port. */
export async function startChild(args: string[], portPattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...SERVER_MALLOC_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = portPattern.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`server did not start within 60 s:\n${output}`)), 60_000).unref();
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
