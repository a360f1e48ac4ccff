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
  /** The error probability of this input, when it depends on the input (see difficulty-errors.ts); else `errorRate`. */
  errorOf?: (userMessage: string) => number | undefined;
  /**
   * A stand-in instead of the gold table: the label a real model gives this input (it never sees gold labels).
   * `goldOf` then only counts how often it is wrong.
   */
  answerOf?: (userMessage: string) => Promise<string>;
  /**
   * A reasoning model: hidden tokens spent before each answer, billed as output (in completion_tokens, and in
   * completion_tokens_details.reasoning_tokens). When they and the answer do not fit the request's output limit, the
   * answer is empty with finish_reason length, as real reasoning models do.
   */
  reasoningTokens?: number;
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
 * share of wrong ones (`errorRate`, or the input's own `errorOf`), or with a real model's answer (`answerOf`), after
 * a log-normal delay, and reports `usage` counted with the o200k tokenizer. Every figure measured against it is a
 * simulation.
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
    if (labels.length > 1 && this.rng() < (this.options.errorOf?.(user) ?? errorRate)) {
      this.stats.wrong++;
      const others = labels.filter((l) => l !== gold);
      return { label: others[Math.floor(this.rng() * others.length)]!, delayMs };
    }
    return { label: gold, delayMs };
  }

  /** A real model's answer (it does not see the gold label), scored against gold only for the counts. */
  private async standIn(user: string): Promise<{ label: string; delayMs: number }> {
    this.stats.requests++;
    const delayMs = sampleLatency(this.options.latency, this.rng);
    this.stats.latenciesMs.push(delayMs);
    const label = await this.options.answerOf!(user);
    const gold = this.options.goldOf(user);
    if (gold === undefined) this.stats.unknown++;
    else if (label !== gold) this.stats.wrong++;
    return { label, delayMs };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as { model: string; messages: Array<{ role: string; content: string }>; max_completion_tokens?: number; max_tokens?: number };
    if (!req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "only /chat/completions is simulated" } }));
      return;
    }
    const user = body.messages.filter((m) => m.role === "user").map((m) => m.content).join("\n");
    const { label, delayMs } = this.options.answerOf ? await this.standIn(user) : this.decide(user);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;
    const answer = JSON.stringify({ label });
    const promptTokens = body.messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3);
    const reasoning = this.options.reasoningTokens ?? 0;
    const limit = body.max_completion_tokens ?? body.max_tokens ?? Infinity;
    // Out of room: the reasoning used the whole limit and no answer was written.
    const cut = reasoning + countTokens(answer) > limit;
    const content = cut ? "" : answer;
    const completionTokens = cut ? limit : reasoning + countTokens(answer);
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: `chatcmpl-sim-${this.stats.requests}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: cut ? "length" : "stop", logprobs: null }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          ...(reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: cut ? limit : reasoning } } : {}),
        },
      }),
    );
  }
}
