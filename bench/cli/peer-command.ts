import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { locateModelVersion } from "../../server/models/repository.js";
import { int } from "../../training/cli/cli-options.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { createRng, shuffleInPlace } from "../../training/random.js";
import { CLI_ENTRY } from "../cli-entry.js";
import { versions } from "../compare/versions.js";
import { peerUnavailable, peerVersion } from "../peer/llama-server-process.js";
import { RANDOM_SHAPE, writeRandomLlamaModel } from "../peer/random-llama-model.js";
import { runPeerBench, type PeerBenchResult } from "../peer/run-peer-bench.js";

interface PeerFlags {
  llamaServer?: string;
  model: string;
  random: boolean;
  randomSeconds: number;
  threads: number;
  slots: number;
  context: number;
  clients: string;
  seconds: number;
  rounds: number;
  maxTokens: number;
  coldStarts: number;
  output: string;
}

const x = (v: number) => `${v.toFixed(2)}×`;

function printTable(name: string, result: PeerBenchResult): void {
  console.log(`\n${name}: this project vs llama-server (ratio = ours / theirs)`);
  console.log("| workload | ours req/s | llama-server req/s | ratio | ours p99 ms | theirs p99 ms | p99 ratio | ours first token p50 ms | theirs |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of result.chat) {
    const ttft = r.stream ? `${r.ours.firstTokenP50!.toFixed(1)} | ${r.peer.firstTokenP50!.toFixed(1)}` : "– | –";
    console.log(`| chat ${r.stream ? "streamed" : "plain"}, ${r.clients} clients | ${r.ours.requestsPerSecond.toFixed(1)} | ${r.peer.requestsPerSecond.toFixed(1)} | ${x(r.ratio.requestsPerSecond)} | ${r.ours.p99.toFixed(0)} | ${r.peer.p99.toFixed(0)} | ${x(r.ratio.p99)} | ${ttft} |`);
  }
  for (const e of result.engineAlone) {
    console.log(`| node-llama-cpp alone, chat plain, ${e.clients} clients | ${e.requestsPerSecond.toFixed(1)} | | ${x(e.ratio.toPeer)} of llama-server; ours ${x(e.ratio.oursToEngine)} of it | | | | | |`);
  }
  const c = result.classification;
  console.log(`| classify, ${c.clients} clients (items/s) | ${c.ours.itemsPerSecond.toFixed(1)} | ${c.peer.itemsPerSecond.toFixed(1)} | ${x(result.classification.ratio)} | ${c.ours.p99.toFixed(0)} | ${c.peer.p99.toFixed(0)} | ${x(c.ours.p99 / c.peer.p99)} | – | – |`);
  const s = result.coldStartMs;
  console.log(`cold start to ready (warm file cache, median): ours ${s.ours.warm.toFixed(0)} ms, llama-server ${s.peer.warm.toFixed(0)} ms (${x(s.ratio)}); first start: ours ${s.ours.first.toFixed(0)} ms, llama-server ${s.peer.first.toFixed(0)} ms`);
  const m = result.rssMib;
  console.log(`RSS MiB: idle ours ${m.idle.ours.toFixed(0)} vs ${m.idle.peer.toFixed(0)}; after the load ours ${m.loaded.ours.toFixed(0)} vs ${m.loaded.peer.toFixed(0)}; peak ours ${m.peak.ours.toFixed(0)} vs ${m.peak.peer.toFixed(0)}`);
}

export function registerPeerBench(bench: Command): void {
  bench
    .command("peer")
    .description("GGUF serving side by side with llama.cpp's own llama-server (same model, threads, slots, context): chat, classification, cold start, memory.")
    .option("--llama-server <path>", "llama-server binary (not a dependency; skipped with a message when absent)", process.env.LLAMA_SERVER)
    .option("--model <dir>", "GGUF classifier: model or version folder", "models/email-spam-llama")
    .option("--random", "also a ~120M-parameter random-weight llama written by the project's GGUF writer", false)
    // At about one answer a second, windows of a few seconds hold a handful of answers: the ratio is then noise.
    .option("--random-seconds <n>", "seconds per measured run on the random-weight model", int, 30)
    .option("--threads <n>", "llama.cpp threads on both sides", int, 1)
    .option("--slots <n>", "parallel sequences (gguf.sequences = llama-server -np)", int, 4)
    .option("--context <n>", "context tokens per sequence", int, 512)
    .option("--clients <list>", "chat client counts", "1,4,8")
    .option("--seconds <n>", "seconds per measurement", int, 8)
    .option("--rounds <n>", "alternated rounds", int, 2)
    .option("--max-tokens <n>", "chat max_tokens", int, 16)
    .option("--cold-starts <n>", "warm starts of each server after the first", int, 3)
    .option("-o, --output <file>", "JSON results", "bench/results/peer.json")
    .action(async (flags: PeerFlags) => {
      const missing = await peerUnavailable(flags.llamaServer);
      if (missing) {
        console.log(`bench peer skipped: ${missing}. Build llama-server from llama.cpp's source and pass --llama-server PATH (or set LLAMA_SERVER).`);
        return;
      }
      const emails = shuffleInPlace(await loadEmailCorpus(), createRng(42)).slice(0, 400);
      // 300 characters keep every prompt under both servers' limits: neither side truncates.
      const texts = emails.map((e) => e.text.slice(0, 300));
      const work = await mkdtemp(join(tmpdir(), "bench-peer-"));
      const common = { cli: CLI_ENTRY, llamaServer: flags.llamaServer!, texts, threads: flags.threads, slots: flags.slots, contextPerSlot: flags.context, seconds: flags.seconds, rounds: flags.rounds, maxTokens: flags.maxTokens, coldStarts: flags.coldStarts, work, log: (line: string) => console.log(line) };
      const clients = flags.clients.split(",").map(Number);
      const models: Record<string, PeerBenchResult & { parameters?: number }> = {};
      try {
        const bundled = await locateModelVersion(flags.model);
        const name = bundled.manifest.name;
        models[name] = await runPeerBench({ ...common, clients, repository: bundled.repository, model: name, modelDir: bundled.dir, labels: bundled.manifest.labels ?? [] });
        printTable(name, models[name]);
        if (flags.random) {
          const repository = join(work, "models");
          const labels = ["ham", "spam"];
          const random = await writeRandomLlamaModel(repository, "random-llama-120m", emails.map((e) => e.text), labels);
          console.log(`wrote a random-weight llama of ${random.parameters.toLocaleString("en-US")} parameters (${JSON.stringify(RANDOM_SHAPE)})`);
          const result = await runPeerBench({ ...common, seconds: flags.randomSeconds, clients, repository, model: "random-llama-120m", modelDir: random.dir, labels });
          models["random-llama-120m"] = { ...result, parameters: random.parameters };
          printTable("random-llama-120m", result);
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      await mkdir(dirname(flags.output), { recursive: true });
      const peer = { binary: flags.llamaServer, version: await peerVersion(flags.llamaServer!) };
      await writeFile(flags.output, `${JSON.stringify({ date: new Date().toISOString(), environment: await versions(), peer, settings: flags, models }, null, 2)}\n`);
      console.log(`wrote ${flags.output}`);
    });
}
