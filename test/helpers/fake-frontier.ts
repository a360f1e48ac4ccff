import type { IncomingMessage, ServerResponse } from "node:http";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { readJson, startLoopbackServer, type LoopbackServer } from "../../bench/load/loopback-server.js";

/** What the fake does with one request. */
export type Behaviour =
  | { kind: "answer"; label?: string; delayMs?: number; usage?: boolean }
  /** A structured answer as given: the OpenAI message content, or the Anthropic tool input (wrapped as the tool asks). */
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: string }
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "hang" }
  | { kind: "reset" };

export interface SeenRequest {
  path: string;
  authorization: string | undefined;
  apiKey: string | undefined;
  body: any;
  /** The user message the server sent. */
  text: string;
}

/**
 * A frontier API on loopback speaking the OpenAI Chat Completions and Anthropic Messages wire formats, driven by a
 * script, so the official SDKs can be pointed at it through `baseURL`. Each request takes the next scripted
 * behaviour, or the default one; labels default to a rule on the text.
 */
export class FakeFrontier {
  readonly seen: SeenRequest[] = [];
  private readonly script: Behaviour[] = [];
  private server?: LoopbackServer;
  url = "";
  fallback: Behaviour = { kind: "answer" };
  labelOf: (text: string) => string = (text) => (/free|prize|won|click/i.test(text) ? "spam" : "ham");

  async start(): Promise<this> {
    this.server = await startLoopbackServer((req, res) => this.handle(req, res));
    this.url = this.server.url;
    return this;
  }

  next(...behaviours: Behaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  reset(): void {
    this.script.length = 0;
    this.seen.length = 0;
    this.fallback = { kind: "answer" };
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const anthropic = req.url?.endsWith("/messages") ?? false;
    const messages: Array<{ role: string; content: string }> = body.messages ?? [];
    const text = messages.filter((m) => m.role === "user").map((m) => m.content).join("\n");
    this.seen.push({ path: req.url ?? "", authorization: req.headers.authorization, apiKey: req.headers["x-api-key"] as string | undefined, body, text });
    const behaviour = this.script.shift() ?? this.fallback;
    switch (behaviour.kind) {
      case "hang":
        return; // never answers; the client's timeout or abort ends it
      case "reset":
        req.socket.destroy();
        return;
      case "status": {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (behaviour.retryAfter !== undefined) headers["retry-after"] = behaviour.retryAfter;
        res.writeHead(behaviour.status, headers).end(JSON.stringify({ error: { type: "error", message: `scripted ${behaviour.status}` } }));
        return;
      }
      case "raw":
        return this.reply(res, anthropic, body, { text: behaviour.text });
      case "json":
        return this.reply(res, anthropic, body, { answer: behaviour.value, usage: true });
      case "answer":
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        return this.reply(res, anthropic, body, { answer: { label: behaviour.label ?? this.labelOf(text) }, usage: behaviour.usage ?? true });
    }
  }

  private reply(res: ServerResponse, anthropic: boolean, body: any, out: { answer?: unknown; text?: string; usage?: boolean }): void {
    if (res.destroyed) return;
    const structured = out.answer !== undefined;
    const schema = body.tools?.[0]?.input_schema;
    // Like a real model filling the tool: a wrapper schema (one required `value`) gets the answer inside it.
    const toolInput = schema?.required?.length === 1 && schema.required[0] === "value" && schema.properties?.value ? { value: out.answer } : out.answer;
    const system = typeof body.system === "string" ? body.system : "";
    const inputTokens = countTokens(system + (body.messages ?? []).map((m: { content: string }) => m.content).join("")) + 8;
    const outputTokens = 6;
    const payload = anthropic
      ? {
          id: "msg_fake",
          type: "message",
          role: "assistant",
          model: body.model,
          content: structured ? [{ type: "tool_use", id: "toolu_fake", name: body.tools?.[0]?.name, input: toolInput }] : [{ type: "text", text: out.text }],
          stop_reason: structured ? "tool_use" : "end_turn",
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: outputTokens },
        }
      : {
          id: "chatcmpl-fake",
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: structured ? JSON.stringify(out.answer) : out.text, refusal: null },
              finish_reason: "stop",
              logprobs: null,
            },
          ],
          ...(out.usage === false ? {} : { usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens } }),
        };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
  }
}

/** The environment variable the servers under test read the fake's API key from. */
export const FAKE_KEY_ENV = "FAKE_FRONTIER_KEY";
export const FAKE_KEY = "sk-frontier-test";

/** An `escalation` config section with the fake as the default OpenAI-compatible provider. */
export function fakeEscalation(frontier: FakeFrontier, provider: Record<string, unknown> = {}) {
  process.env[FAKE_KEY_ENV] = FAKE_KEY;
  return {
    defaultProvider: "fake",
    providers: { fake: { kind: "openai" as const, model: "gpt-5-mini", baseURL: `${frontier.url}/v1`, apiKeyEnv: FAKE_KEY_ENV, ...provider } },
  };
}
