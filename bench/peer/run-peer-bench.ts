import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseClassifyPrompt } from "../../server/backends/gguf/classify-prompt.js";
import { GENERIC_CHAT_STOP } from "../../server/backends/gguf/chat-prompt.js";
import { closedLoop } from "../load/load-generator.js";
import { measuredServerConfig } from "../load/measured-server-config.js";
import { median } from "../load/median.js";
import { processRssMib } from "../load/process-rss.js";
import { startReadyServer } from "../load/ready-server.js";
import { chatLoop, type ChatLoadResult } from "./chat-load.js";
import { measureEngineAlone, type EngineAloneResult } from "./engine-alone.js";
import { startPeer, type PeerSettings } from "./llama-server-process.js";

export interface PeerBenchOptions {
  /** The CLI that serves our side (dist/cli/main.js). */
  cli: string;
  llamaServer: string;
  repository: string;
  model: string;
  /** The version folder: model.gguf and prompts/classify.txt. */
  modelDir: string;
  labels: string[];
  texts: string[];
  threads: number;
  slots: number;
  contextPerSlot: number;
  clients: number[];
  seconds: number;
  rounds: number;
  maxTokens: number;
  coldStarts: number;
  work: string;
  log: (line: string) => void;
}

type Side = "ours" | "peer";
interface Running {
  origin: string;
  pid: number;
  readyMs: number;
  stop(): Promise<void>;
}

const chatQuestion = (email: string) => `Is this email spam or ham?\n${email}`;

/** The chat template that renders what our server renders for a model without one (genericChatPrompt). */
const GENERIC_CHAT_TEMPLATE = "{% for m in messages %}{{ m.role | capitalize }}: {{ m.content }}\n{% endfor %}Assistant:";

async function startOurs(options: PeerBenchOptions, config: string): Promise<Running> {
  return startReadyServer([options.cli], ["--config", config]);
}

async function startTheirs(settings: PeerSettings): Promise<Running> {
  const peer = await startPeer(settings);
  return { origin: peer.origin, pid: peer.process.pid!, readyMs: peer.readyMs, stop: peer.stop };
}

/**
 * Our server and llama.cpp's own llama-server on the same GGUF, with the same threads, parallel sequences (slots)
 * and context per sequence, measured turn about (the order alternates by round, so drift on a shared machine falls
 * on both): chat completions plain and streamed at each client count, classification (our /v1/classify against
 * llama-server's /completion with one predicted token and the label probabilities), cold start and memory.
 */
export async function runPeerBench(options: PeerBenchOptions) {
  const template = join(options.work, "generic-chat.jinja");
  await writeFile(template, GENERIC_CHAT_TEMPLATE);
  const config = join(options.work, `${options.model}-config.json`);
  const gguf = { sequences: options.slots, threads: options.threads, contextSize: options.contextPerSlot };
  await writeFile(config, JSON.stringify(measuredServerConfig(options.repository, options.model, { gguf })));
  const peerSettings: PeerSettings = {
    binary: options.llamaServer,
    model: join(options.modelDir, "model.gguf"),
    threads: options.threads,
    slots: options.slots,
    contextPerSlot: options.contextPerSlot,
    chatTemplateFile: template,
  };
  const start = (side: Side) => (side === "ours" ? startOurs(options, config) : startTheirs(peerSettings));

  // Cold start: the first start of ours may validate the GGUF in a child process (remembered afterwards), so it is
  // kept apart from the warm starts that follow.
  const cold: Record<Side, number[]> = { ours: [], peer: [] };
  const idleRss: Record<Side, number[]> = { ours: [], peer: [] };
  for (let i = 0; i <= options.coldStarts; i++) {
    for (const side of (i % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"]) as Side[]) {
      const server = await start(side);
      cold[side].push(server.readyMs);
      idleRss[side].push((await processRssMib(server.pid)).now);
      await server.stop();
    }
  }
  options.log(`cold start to ready, ms: ours ${cold.ours.map((v) => v.toFixed(0)).join(", ")}; llama-server ${cold.peer.map((v) => v.toFixed(0)).join(", ")}`);

  const promptFile = join(options.modelDir, "prompts", "classify.txt");
  const { prefix, suffix } = parseClassifyPrompt(await readFile(promptFile, "utf8"), promptFile);
  const chatBody = (text: string, stream: boolean) =>
    JSON.stringify({ model: options.model, messages: [{ role: "user", content: chatQuestion(text) }], max_tokens: options.maxTokens, temperature: 0, stop: GENERIC_CHAT_STOP, stream });
  const classifyBodies: Record<Side, string[]> = {
    ours: options.texts.map((input) => JSON.stringify({ model: options.model, input })),
    peer: options.texts.map((input) => JSON.stringify({ prompt: `${prefix}${input}${suffix}`, n_predict: 1, n_probs: options.labels.length, temperature: 0, cache_prompt: true })),
  };
  const classifyClients = options.slots * 2;
  // node-llama-cpp on its own, in a process of its own, between the servers' runs: what the binding gives by itself.
  const engineSettings = { modelPath: peerSettings.model, threads: options.threads, slots: options.slots, contextPerSlot: options.contextPerSlot, seconds: options.seconds, maxTokens: options.maxTokens, texts: options.texts.map(chatQuestion) };
  const engine: Array<EngineAloneResult & { round: number }> = [];
  let loadedRss: Record<Side, { now: number; peak: number }> | undefined;

  const servers: Record<Side, Running> = { ours: await start("ours"), peer: await start("peer") };
  const chat: Array<ChatLoadResult & { side: Side; round: number }> = [];
  const classify: Array<{ side: Side; round: number; clients: number; itemsPerSecond: number; p50: number; p99: number; errors: number }> = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order: Side[] = round % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"];
      for (const stream of [false, true]) {
        for (const clients of options.clients) {
          for (const side of order) {
            const result = await chatLoop(servers[side].origin, options.texts.map((t) => chatBody(t, stream)), clients, options.seconds, stream);
            chat.push({ side, round, ...result });
            options.log(`chat ${stream ? "streamed" : "plain"} ${clients} clients ${side}: ${result.throughput.toFixed(1)} req/s, ${result.tokensPerSecond.toFixed(0)} tokens/s, p99 ${result.latencyMs.p99.toFixed(0)} ms${result.firstTokenMs ? `, first token p50 ${result.firstTokenMs.p50.toFixed(1)} ms` : ""}, ${result.errors} errors`);
          }
          if (!stream) {
            const result = await measureEngineAlone({ ...engineSettings, clients });
            engine.push({ round, ...result });
            options.log(`chat plain ${clients} clients node-llama-cpp alone: ${result.throughput.toFixed(1)} req/s, ${result.tokensPerSecond.toFixed(0)} tokens/s`);
          }
        }
      }
      for (const side of order) {
        const path = side === "ours" ? "/v1/classify" : "/completion";
        const result = await closedLoop({ origin: servers[side].origin, path, bodies: classifyBodies[side], durationSeconds: options.seconds }, classifyClients);
        classify.push({ side, round, clients: classifyClients, itemsPerSecond: result.throughput, p50: result.latencyMs.p50, p99: result.latencyMs.p99, errors: result.errors });
        options.log(`classify ${classifyClients} clients ${side}: ${result.throughput.toFixed(1)} items/s, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${result.errors} errors`);
      }
    }
  } finally {
    loadedRss = { ours: await processRssMib(servers.ours.pid), peer: await processRssMib(servers.peer.pid) };
    await servers.ours.stop();
    await servers.peer.stop();
  }

  const summary = (side: Side, stream: boolean, clients: number) => {
    const runs = chat.filter((r) => r.side === side && r.stream === stream && r.clients === clients);
    return {
      requestsPerSecond: median(runs.map((r) => r.throughput)),
      tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
      p50: median(runs.map((r) => r.latencyMs.p50)),
      p99: median(runs.map((r) => r.latencyMs.p99)),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      ...(stream ? { firstTokenP50: median(runs.map((r) => r.firstTokenMs!.p50)), firstTokenP99: median(runs.map((r) => r.firstTokenMs!.p99)) } : {}),
    };
  };
  const chatRows = options.clients.flatMap((clients) =>
    [false, true].map((stream) => {
      const ours = summary("ours", stream, clients);
      const peer = summary("peer", stream, clients);
      return { clients, stream, ours, peer, ratio: { requestsPerSecond: ours.requestsPerSecond / peer.requestsPerSecond, p99: ours.p99 / peer.p99 } };
    }),
  );
  const engineRows = options.clients.map((clients) => {
    const runs = engine.filter((r) => r.clients === clients);
    const requestsPerSecond = median(runs.map((r) => r.throughput));
    const plain = chatRows.find((r) => r.clients === clients && !r.stream)!;
    return {
      clients,
      requestsPerSecond,
      tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
      ratio: { toPeer: requestsPerSecond / plain.peer.requestsPerSecond, oursToEngine: plain.ours.requestsPerSecond / requestsPerSecond },
    };
  });
  const classifyOf = (side: Side) => {
    const runs = classify.filter((r) => r.side === side);
    return { itemsPerSecond: median(runs.map((r) => r.itemsPerSecond)), p99: median(runs.map((r) => r.p99)), errors: runs.reduce((n, r) => n + r.errors, 0) };
  };
  const classification = { clients: classifyClients, ours: classifyOf("ours"), peer: classifyOf("peer") };
  const warm = (side: Side) => median(cold[side].slice(1));
  return {
    settings: { threads: options.threads, slots: options.slots, contextPerSlot: options.contextPerSlot, maxTokens: options.maxTokens, seconds: options.seconds, rounds: options.rounds, temperature: 0, peerCachePrompt: true },
    chat: chatRows,
    engineAlone: engineRows,
    classification: { ...classification, ratio: classification.ours.itemsPerSecond / classification.peer.itemsPerSecond },
    coldStartMs: { ours: { first: cold.ours[0]!, warm: warm("ours") }, peer: { first: cold.peer[0]!, warm: warm("peer") }, ratio: warm("ours") / warm("peer") },
    rssMib: {
      idle: { ours: median(idleRss.ours), peer: median(idleRss.peer) },
      loaded: { ours: loadedRss!.ours.now, peer: loadedRss!.peer.now },
      peak: { ours: loadedRss!.ours.peak, peer: loadedRss!.peer.peak },
    },
    runs: { chat, engineAlone: engine, classify, coldStartMs: cold },
  };
}

export type PeerBenchResult = Awaited<ReturnType<typeof runPeerBench>>;
