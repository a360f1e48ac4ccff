import { spawn } from "node:child_process";
import { extname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { GENERIC_CHAT_STOP, genericChatPrompt } from "../../server/backends/gguf/chat-prompt.js";
import { StopText } from "../../server/backends/gguf/stop-text.js";

/** One closed-loop chat measurement of node-llama-cpp on its own: no HTTP, no serving layer. */
export interface EngineAloneSettings {
  modelPath: string;
  threads: number;
  slots: number;
  contextPerSlot: number;
  clients: number;
  seconds: number;
  maxTokens: number;
  /** The user messages, sent in turn: the same chat prompt text as the servers get. */
  texts: string[];
}

export interface EngineAloneResult {
  clients: number;
  requests: number;
  seconds: number;
  throughput: number;
  tokensPerSecond: number;
}

/**
 * What the binding our GGUF paths run on gives by itself: node-llama-cpp's `sequence.evaluate`, greedy, as many
 * sequences as the servers have slots, each client a loop of prompt, then tokens up to `maxTokens`, the end of
 * generation or the generic prompt's stop, then the next prompt. What a sequence holds that begins the next prompt is
 * kept, as both servers keep it; the prompt is the generic chat prompt our server renders. Runs in a child process of
 * its own (`measureEngineAlone`), sharing nothing with the load generator or the servers.
 */
export async function engineAlone(settings: EngineAloneSettings): Promise<EngineAloneResult> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: settings.modelPath });
  const context = await model.createContext({ sequences: settings.slots, contextSize: settings.slots * settings.contextPerSlot, threads: settings.threads });
  const bos = model.tokens.bos !== null && model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
  const limit = settings.contextPerSlot - settings.maxTokens;
  // Prompts over a slot's context are refused by both servers (400): left out here too.
  const prompts = settings.texts
    .map((text): Token[] => [...bos, ...model.tokenize(genericChatPrompt([{ role: "user", content: text }]), false, bos.length > 0 ? "trimLeadingSpace" : undefined)])
    .filter((tokens) => tokens.length <= limit);
  const sequences = Array.from({ length: Math.min(settings.clients, settings.slots) }, () => context.getSequence());
  let next = 0;
  let requests = 0;
  let tokens = 0;
  const started = performance.now();
  const end = started + settings.seconds * 1000;
  // More clients than slots wait for a free sequence in the servers; here the extra clients have no sequence to
  // wait for, so the loop runs one client per sequence, which is what the servers' slots do at any one time.
  await Promise.all(
    sequences.map(async (sequence) => {
      while (performance.now() < end) {
        const prompt = prompts[next++ % prompts.length]!;
        await sequence.adaptStateToTokens(prompt.slice(0, -1), false);
        const answer: Token[] = [];
        // The servers end a reply at the next turn's "User:": so does this loop.
        const text = new StopText(GENERIC_CHAT_STOP);
        for await (const token of sequence.evaluate(prompt.slice(sequence.nextTokenIndex), { temperature: 0 })) {
          answer.push(token);
          if (text.push(model.detokenize([token], false, answer.slice(-9, -1))).stopped || answer.length >= settings.maxTokens) break;
        }
        requests++;
        tokens += answer.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await context.dispose();
  await model.dispose();
  return { clients: settings.clients, requests, seconds, throughput: requests / seconds, tokensPerSecond: tokens / seconds };
}

/** Runs `engineAlone` in a child process: this file, from dist or (through tsx) from source. */
export async function measureEngineAlone(settings: EngineAloneSettings): Promise<EngineAloneResult> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...(self.endsWith(".ts") ? ["--import", "tsx"] : []), self], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  child.stdin.end(JSON.stringify(settings));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const line = out.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`node-llama-cpp alone failed (exit ${code}):\n${err.slice(-2000)}`);
  return JSON.parse(line) as EngineAloneResult;
}

const runAsChild = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && [".js", ".ts"].includes(extname(process.argv[1]));
if (runAsChild) {
  let input = "";
  process.stdin.on("data", (chunk: Buffer) => (input += chunk.toString()));
  process.stdin.on("end", () => {
    engineAlone(JSON.parse(input) as EngineAloneSettings).then(
      (result) => {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exit(0);
      },
      (error: Error) => {
        process.stderr.write(`${error.stack ?? error.message}\n`);
        process.exit(1);
      },
    );
  });
}
