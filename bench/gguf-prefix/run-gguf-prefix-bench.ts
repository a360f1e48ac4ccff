import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, type LoadResult } from "../load/load-generator.js";
import { startChild } from "../load/child-server.js";
import { measuredServerConfig } from "../load/measured-server-config.js";

export interface PrefixBenchOptions {
  /** The GGUF classifier's version folder, copied with a long instruction prefix in front of its prompt. */
  modelDir: string;
  modelName: string;
  cli: string;
  texts: string[];
  /** Words of instruction before the prompt (about one token each for this model's tokenizer). */
  prefixWords: number;
  clients: number;
  seconds: number;
  rounds: number;
  log: (line: string) => void;
}

export interface PrefixBenchResult {
  prefixTokens: number;
  rounds: Array<{ reuse: LoadResult; fresh: LoadResult }>;
  median: { reuse: number; fresh: number };
  speedup: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A fixed instruction of about `words` tokens, as a real classify prompt's rules and examples would be. */
function instruction(words: number): string {
  const rule = "Decide whether the email below is unsolicited bulk mail; answer spam or ham, nothing else.";
  const out: string[] = [];
  while (out.length < words) out.push(...rule.split(" "));
  return `${out.slice(0, words).join(" ")}\n`;
}

/**
 * GGUF classification with a long shared instruction prefix, the prefix kept in each sequence's KV cache
 * (`gguf.reusePrefix`, the default) against every classification evaluated from an empty sequence: the same server
 * process settings, the same texts, closed-loop clients, rounds alternated so drift on a shared machine hits both.
 */
export async function runPrefixBench(options: PrefixBenchOptions): Promise<PrefixBenchResult> {
  const repository = await mkdtemp(join(tmpdir(), "bench-prefix-"));
  try {
    const folder = join(repository, options.modelName, "1");
    await cp(options.modelDir, folder, { recursive: true });
    const manifest = JSON.parse(await readFile(join(folder, "model.json"), "utf8")) as { gguf?: { prompt?: string } };
    const promptFile = manifest.gguf?.prompt ?? "prompts/classify.txt";
    await writeFile(join(folder, "prompts", "long.txt"), instruction(options.prefixWords) + (await readFile(join(folder, promptFile), "utf8")));
    const bodies = options.texts.map((text) => JSON.stringify({ model: options.modelName, input: text, route: "specialist" }));
    const rounds: PrefixBenchResult["rounds"] = [];
    let prefixTokens = 0;
    for (let round = 0; round < options.rounds; round++) {
      const measured: Partial<Record<"reuse" | "fresh", LoadResult>> = {};
      for (const mode of round % 2 === 0 ? (["reuse", "fresh"] as const) : (["fresh", "reuse"] as const)) {
        const config = join(repository, `${mode}.json`);
        const gguf = { prompt: "prompts/long.txt", reusePrefix: mode === "reuse", threads: 1, sequences: 4 };
        await writeFile(config, JSON.stringify(measuredServerConfig(repository, options.modelName, { gguf, limits: { maxTokens: 128 } })));
        const server = await startChild([options.cli, "serve", "--port", "0", "--config", config], /listening on http:\/\/127\.0\.0\.1:(\d+)/, { SPECIALIST_SERVER__LOG_LEVEL: "info" });
        try {
          const result = await closedLoop({ origin: server.origin, path: "/v1/classify", bodies, durationSeconds: options.seconds, warmupSeconds: 2 }, options.clients);
          if (result.errors > 0) throw new Error(`${mode}: ${result.errors} requests failed`);
          measured[mode] = result;
          if (prefixTokens === 0) {
            const probe = (await (await fetch(`${server.origin}/v1/classify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: options.modelName, input: "x", route: "specialist" }) })).json()) as { results: Array<{ tokens: number }> };
            prefixTokens = probe.results[0]!.tokens;
          }
          options.log(`round ${round + 1} ${mode}: ${result.throughput.toFixed(1)} req/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`);
        } finally {
          await server.stop();
        }
      }
      rounds.push({ reuse: measured.reuse!, fresh: measured.fresh! });
    }
    const reuse = median(rounds.map((r) => r.reuse.throughput));
    const fresh = median(rounds.map((r) => r.fresh.throughput));
    return { prefixTokens, rounds, median: { reuse, fresh }, speedup: reuse / fresh };
  } finally {
    await rm(repository, { recursive: true, force: true });
  }
}
