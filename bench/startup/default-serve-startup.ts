import { median } from "../load/median.js";
import { processRssMib } from "../load/process-rss.js";
import { startReadyServer } from "../load/ready-server.js";

export interface StartupRun {
  readyMs: number;
  idleRssMib: number;
}

export interface StartupBenchResult {
  /** What /v1/models listed once ready. */
  models: string[];
  /** The first start, which may validate a GGUF in a child process (remembered for the starts after it). */
  first: StartupRun;
  warm: StartupRun[];
  median: StartupRun;
}

/**
 * `serve` with its default configuration (the bundled specialists, no database), started `starts + 1` times one after
 * another (`command` runs the CLI, as for startReadyServer): time from spawning the process to /readyz 200, and its VmRSS `idleSeconds` after that with no request.
 */
export async function runStartupBench(options: { command: string[]; starts: number; idleSeconds: number; args?: string[] }): Promise<StartupBenchResult> {
  const runs: StartupRun[] = [];
  let models: string[] = [];
  for (let i = 0; i <= options.starts; i++) {
    const server = await startReadyServer(options.command, options.args ?? []);
    try {
      await new Promise((r) => setTimeout(r, options.idleSeconds * 1000));
      runs.push({ readyMs: server.readyMs, idleRssMib: (await processRssMib(server.pid)).now });
      if (i === 0) models = ((await (await fetch(`${server.origin}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    } finally {
      await server.stop();
    }
  }
  const warm = runs.slice(1);
  return { models, first: runs[0]!, warm, median: { readyMs: median(warm.map((r) => r.readyMs)), idleRssMib: median(warm.map((r) => r.idleRssMib)) } };
}
