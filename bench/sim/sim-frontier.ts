import type { IncomingMessage, ServerResponse } from "node:http";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { createRng } from "../../training/random.js";
import { readJson, startLoopbackServer, type LoopbackServer } from "../load/loopback-server.js";
import { sampleLatency, type LatencyModel } from "./latency-model.js";

export interface SimFrontierOptions {
  /** The label set the answers come from. */
  labels: readonly string[];
  /** Gold label of a request, found from its user message; undefined for an input the simulation does not know. */
  goldOf: (userMessage: string) => string | undefined;
  latency: LatencyModel;
  /** Share of answers that are a wrong label (uniform over the others). */
  errorRate: number;
  seed: number;
}

export interface SimStats {
  requests: number;
  wrong: number;
  unknown: number;
  latenciesMs: number[];
}

/**
 * A simulated frontier on loopback speaking OpenAI Chat Completions, so the server escalates to it through the
 * official SDK as it would to a real provider. It answers each classification with the gold label, except for a
 * share `errorRate` of wrong ones, after a log-normal delay, and reports `usage` counted with the o200k tokenizer.
 * Every figure measured against it is a simulation.
 */
export class SimFrontier {
  readonly stats: SimStats = { requests: 0, wrong: 0, unknown: 0, latenciesMs: [] };
  url = "";
  private server?: LoopbackServer;
  private readonly rng: () => number;

  constructor(private readonly options: SimFrontierOptions) {
    this.rng = createRng(options.seed);
  }

  async start(): Promise<this> {
    this.server = await startLoopbackServer((req, res) => this.handle(req, res));
    this.url = this.server.url;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /** The answer to one user message and how long to wait before giving it. */
  decide(user: string): { label: string; delayMs: number } {
    const { labels, errorRate } = this.options;
    const gold = this.options.goldOf(user);
    this.stats.requests++;
    const delayMs = sampleLatency(this.options.latency, this.rng);
    this.stats.latenciesMs.push(delayMs);
    if (gold === undefined) {
      this.stats.unknown++;
      return { label: labels[Math.floor(this.rng() * labels.length)]!, delayMs };
    }
    if (labels.length > 1 && this.rng() < errorRate) {
      this.stats.wrong++;
      const others = labels.filter((l) => l !== gold);
      return { label: others[Math.floor(this.rng() * others.length)]!, delayMs };
    }
    return { label: gold, delayMs };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as { model: string; messages: Array<{ role: string; content: string }> };
    if (!req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "only /chat/completions is simulated" } }));
      return;
    }
    const user = body.messages.filter((m) => m.role === "user").map((m) => m.content).join("\n");
    const { label, delayMs } = this.decide(user);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;
    const content = JSON.stringify({ label });
    const promptTokens = body.messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3);
    const completionTokens = countTokens(content);
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: `chatcmpl-sim-${this.stats.requests}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      }),
    );
  }
}
