import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { readJson, startLoopbackServer, type LoopbackServer } from "../load/loopback-server.js";

/** What the fake does with one request. */
export type Behaviour =
  /** `usage`: token counts (default), none, or only `total_tokens` as some OpenAI-compatible servers send. */
  | { kind: "answer"; label?: string; delayMs?: number; usage?: boolean | "total_only" }
  /** A structured answer as given: the OpenAI message content, or the Anthropic tool input (wrapped as the tool asks). */
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: string }
  /** A reasoning model that spent its output tokens before answering: empty content, finish_reason length, no usage. */
  | { kind: "cut_off" }
  | { kind: "status"; status: number; retryAfter?: string; message?: string }
  | { kind: "hang" }
  /** The connection is closed before any response. */
  | { kind: "reset" }
  /** Status and headers, the start of the body, then nothing more. */
  | { kind: "stall" }
  /** Status, headers (with the full length announced) and the start of the body, then the connection is closed. */
  | { kind: "reset_mid_body" }
  /** A 200 whose JSON body is not JSON. */
  | { kind: "garbage" }
  /** A valid answer padded to `bytes`, sent in 1 MiB chunks without a length header. */
  | { kind: "huge"; bytes: number };

/** How the fake's Batch API ends a batch: every line answered, some lines failed, or the window running out. */
export type BatchBehaviour = { kind: "complete"; failEvery?: number } | { kind: "expire"; answered: number } | { kind: "reject_upload" };

interface FakeBatch {
  id: string;
  status: string;
  inputFileId: string;
  polls: number;
  outputFileId: string | null;
  errorFileId: string | null;
  lines: number;
}

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
 * behaviour, or the default one; labels default to a rule on the text. A stand-in for tests and `bench faults`:
 * it plays a provider's faults, it never judges answers. `seen` holds every request it received.
 */
export class FakeFrontier {
  readonly seen: SeenRequest[] = [];
  private readonly script: Behaviour[] = [];
  private server?: LoopbackServer;
  url = "";
  fallback: Behaviour = { kind: "answer" };
  /** The Batch API: what the next batches do, and after how many status polls they end. */
  batchBehaviour: BatchBehaviour = { kind: "complete" };
  pollsToEnd = 2;
  /** The next this many downloads of a file's content fail with 500. */
  contentFailures = 0;
  readonly batches = new Map<string, FakeBatch>();
  private readonly files = new Map<string, string>();
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
    this.batchBehaviour = { kind: "complete" };
    this.pollsToEnd = 2;
    this.contentFailures = 0;
    this.batches.clear();
    this.files.clear();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (/\/(files|batches)(\/|$)/.test(req.url ?? "")) return this.batchApi(req, res);
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
        res.writeHead(behaviour.status, headers).end(JSON.stringify({ error: { type: "error", message: behaviour.message ?? `scripted ${behaviour.status}` } }));
        return;
      }
      case "stall":
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id":"chatcmpl-stall","object":"chat.completion","choices":[');
        return; // the rest never comes; the client's deadline ends it
      case "reset_mid_body":
        res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
        res.write('{"id":"chatcmpl-reset","object":"chat.completion","choices":[');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" }).end("<html><body>502 Bad Gateway</body></html>");
        return;
      case "huge":
        return this.huge(res, body, behaviour.bytes);
      case "cut_off":
        return this.reply(res, anthropic, body, { text: "", usage: false, finish: "length" });
      case "raw":
        return this.reply(res, anthropic, body, { text: behaviour.text });
      case "json":
        return this.reply(res, anthropic, body, { answer: behaviour.value, usage: true });
      case "answer":
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        return this.reply(res, anthropic, body, { answer: { label: behaviour.label ?? this.labelOf(text) }, usage: behaviour.usage ?? true });
    }
  }

  private async huge(res: ServerResponse, body: any, bytes: number): Promise<void> {
    res.writeHead(200, { "content-type": "application/json" });
    const head = `{"id":"chatcmpl-huge","object":"chat.completion","model":${JSON.stringify(body.model)},"padding":"`;
    const tail = `","choices":[{"index":0,"message":{"role":"assistant","content":"{\\"label\\":\\"ham\\"}"},"finish_reason":"stop"}]}`;
    res.write(head);
    const chunk = "x".repeat(2 ** 20);
    for (let sent = head.length + tail.length; sent < bytes && !res.destroyed; sent += chunk.length) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve).once("close", resolve));
    }
    if (!res.destroyed) res.end(tail);
  }

  /** OpenAI's files and batches routes, enough for the official SDK: each line is answered as a chat completion would be. */
  private async batchApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "";
    const json = (status: number, value: unknown): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    this.seen.push({ path: url, authorization: req.headers.authorization, apiKey: undefined, body: null, text: "" });
    if (req.method === "POST" && url.endsWith("/files")) {
      if (this.batchBehaviour.kind === "reject_upload") return json(400, { error: { message: "scripted: the file was refused" } });
      const form = await new Response(Readable.toWeb(req) as ReadableStream, { headers: { "content-type": req.headers["content-type"] ?? "" } }).formData();
      const file = form.get("file") as File;
      const id = `file-${randomUUID()}`;
      this.files.set(id, await file.text());
      return json(200, { id, object: "file", bytes: file.size, created_at: 0, filename: file.name, purpose: form.get("purpose") });
    }
    const content = url.match(/\/files\/([^/]+)\/content$/);
    if (content) {
      if (this.contentFailures > 0) {
        this.contentFailures--;
        return json(500, { error: { message: "scripted: the download failed" } });
      }
      const text = this.files.get(content[1]!);
      if (text === undefined) return json(404, { error: { message: "no such file" } });
      return void res.writeHead(200, { "content-type": "application/jsonl" }).end(text);
    }
    if (req.method === "POST" && url.endsWith("/batches")) {
      const body = await readJson(req);
      const input = this.files.get(body.input_file_id);
      if (input === undefined) return json(400, { error: { message: "no such input file" } });
      const batch: FakeBatch = { id: `batch_${randomUUID()}`, status: "in_progress", inputFileId: body.input_file_id, polls: 0, outputFileId: null, errorFileId: null, lines: input.split("\n").filter((l) => l.trim()).length };
      this.batches.set(batch.id, batch);
      return json(200, this.batchObject(batch));
    }
    const found = url.match(/\/batches\/([^/]+)(\/cancel)?$/);
    const batch = found ? this.batches.get(found[1]!) : undefined;
    if (!batch) return json(404, { error: { message: "no such batch" } });
    if (found![2]) {
      if (batch.status === "in_progress") batch.status = "cancelled";
    } else if (batch.status === "in_progress" && ++batch.polls >= this.pollsToEnd) this.end(batch);
    return json(200, this.batchObject(batch));
  }

  private end(batch: FakeBatch): void {
    const behaviour = this.batchBehaviour;
    const outputs: string[] = [];
    const errors: string[] = [];
    this.files
      .get(batch.inputFileId)!
      .split("\n")
      .filter((l) => l.trim())
      .forEach((raw, i) => {
        const line = JSON.parse(raw) as { custom_id: string; body: any };
        if (behaviour.kind === "expire" && i >= behaviour.answered) return;
        if (behaviour.kind === "complete" && behaviour.failEvery && i % behaviour.failEvery === behaviour.failEvery - 1) {
          errors.push(JSON.stringify({ id: `r${i}`, custom_id: line.custom_id, response: { status_code: 400, body: { error: { message: "scripted line failure" } } }, error: null }));
          return;
        }
        const text = (line.body.messages ?? []).filter((m: { role: string }) => m.role === "user").map((m: { content: string }) => m.content).join("\n");
        const body = this.chatCompletion(line.body, { answer: { label: this.labelOf(text) }, usage: true });
        outputs.push(JSON.stringify({ id: `r${i}`, custom_id: line.custom_id, response: { status_code: 200, body }, error: null }));
      });
    const save = (lines: string[]) => {
      if (lines.length === 0) return null;
      const id = `file-${randomUUID()}`;
      this.files.set(id, `${lines.join("\n")}\n`);
      return id;
    };
    batch.outputFileId = save(outputs);
    batch.errorFileId = save(errors);
    batch.status = behaviour.kind === "expire" ? "expired" : "completed";
  }

  private batchObject(batch: FakeBatch) {
    return {
      id: batch.id,
      object: "batch",
      endpoint: "/v1/chat/completions",
      input_file_id: batch.inputFileId,
      completion_window: "24h",
      status: batch.status,
      output_file_id: batch.outputFileId,
      error_file_id: batch.errorFileId,
      created_at: 0,
      request_counts: { total: batch.lines, completed: 0, failed: 0 },
    };
  }

  private chatCompletion(body: any, out: { answer?: unknown; text?: string; usage?: boolean | "total_only"; finish?: string }) {
    const structured = out.answer !== undefined;
    const inputTokens = countTokens((body.messages ?? []).map((m: { content: string }) => m.content).join("")) + 8;
    const outputTokens = 6;
    return {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: structured ? JSON.stringify(out.answer) : out.text, refusal: null }, finish_reason: out.finish ?? "stop", logprobs: null }],
      ...(out.usage === false
        ? {}
        : out.usage === "total_only"
          ? { usage: { total_tokens: inputTokens + outputTokens } }
          : { usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens } }),
    };
  }

  private reply(res: ServerResponse, anthropic: boolean, body: any, out: { answer?: unknown; text?: string; usage?: boolean | "total_only"; finish?: string }): void {
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
      : this.chatCompletion(body, out);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
  }
}
