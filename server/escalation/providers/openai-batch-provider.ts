import { randomUUID } from "node:crypto";
import OpenAI, { toFile } from "openai";
import type { ProviderSettings } from "../../config/escalation-schema.js";
import { FrontierError, fromSdkError } from "../frontier-error.js";
import type { FrontierProvider, FrontierReply, FrontierRequest } from "./frontier-provider.js";
import { chatCompletionBody, readCompletion } from "./openai-provider.js";

export interface FrontierBatchSettings {
  /** A call waits at most this long for others to go with it. */
  flushMs: number;
  maxRequests: number;
  pollMs: number;
}

/** A provider that gathers calls into the provider's own batch jobs; closing gives up on the open ones. */
export interface BatchingProvider extends FrontierProvider {
  close(): Promise<void>;
}

interface Waiting {
  customId: string;
  request: FrontierRequest;
  resolve(reply: FrontierReply): void;
  reject(error: FrontierError): void;
  done: boolean;
  /** The provider batch it went out in. */
  batchId?: string;
}

const ENDED = new Set(["completed", "failed", "expired", "cancelled"]);

/** One line of a provider batch's output or error file. */
interface ResultLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

function failureOf(status: number | undefined): FrontierError["failure"] {
  if (status === 429) return "rate_limited";
  if (status !== undefined && status >= 500) return "server_error";
  return "client_error";
}

/**
 * Frontier calls sent through OpenAI's Batch API (files + batches, with the official SDK): calls made within
 * `flushMs` of each other go as one JSONL file of chat completions, and each call's promise settles when the
 * provider's batch ends (within its 24 h window) with that call's line of the output or error file. The answer is
 * read exactly as a direct call's; what the batch costs is the caller's to price (the Batch API's discount).
 */
export function createOpenAiBatchProvider(name: string, settings: ProviderSettings, apiKey: string, batch: FrontierBatchSettings): BatchingProvider {
  // Retries of the control calls (upload, create, poll) are the SDK's: a lost poll is simply asked again.
  const client = new OpenAI({ apiKey, ...(settings.baseURL ? { baseURL: settings.baseURL } : {}), maxRetries: 2, timeout: 60_000 });
  let gathering: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Provider batches not yet ended, with the calls waiting on each. */
  const open = new Map<string, Map<string, Waiting>>();
  const polls = new Set<NodeJS.Timeout>();

  const sdkError = (error: unknown) => (error instanceof FrontierError ? error : fromSdkError(error, name, [apiKey]));

  const settle = (calls: Map<string, Waiting>, line: ResultLine) => {
    const call = line.custom_id !== undefined ? calls.get(line.custom_id) : undefined;
    if (!call || call.done) return;
    calls.delete(call.customId);
    const status = line.response?.status_code;
    try {
      if (line.response && status !== undefined && status >= 200 && status < 300) return call.resolve(readCompletion(name, line.response.body, call.request));
      const message = line.error?.message ?? (line.response?.body as { error?: { message?: string } } | undefined)?.error?.message ?? "no detail";
      call.reject(new FrontierError(line.error ? "client_error" : failureOf(status), `${name}: the provider's batch answered ${status ?? line.error?.code ?? "an error"} for this request (${message})`, status !== undefined ? { status } : {}));
    } catch (error) {
      call.reject(sdkError(error));
    }
  };

  const readLines = async (fileId: string | null | undefined, calls: Map<string, Waiting>) => {
    if (!fileId) return;
    const text = await (await client.files.content(fileId)).text();
    for (const raw of text.split("\n")) {
      if (raw.trim() === "") continue;
      try {
        settle(calls, JSON.parse(raw) as ResultLine);
      } catch {
        // A line that is not JSON answers no call: that call fails below with the others left unanswered.
      }
    }
  };

  const watch = (id: string, calls: Map<string, Waiting>) => {
    const poll = setTimeout(async () => {
      polls.delete(poll);
      if (closed) return;
      try {
        const current = await client.batches.retrieve(id);
        if (!open.has(id)) return;
        if (!ENDED.has(current.status)) return watch(id, calls);
        // An expired or cancelled batch still has the answers it got to. A download that fails is tried again at the
        // next poll (the calls it settled are not settled twice).
        await readLines(current.output_file_id, calls);
        await readLines(current.error_file_id, calls);
        open.delete(id);
        const failure = current.status === "expired" ? "timeout" : "server_error";
        for (const call of calls.values()) call.reject(new FrontierError(failure, `${name}: the provider's batch ${id} ended ${current.status} without an answer for this request`));
      } catch {
        // The provider could not be asked this time: ask again at the next poll.
        if (!closed) watch(id, calls);
      }
    }, batch.pollMs);
    polls.add(poll);
  };

  const flush = async () => {
    clearTimeout(timer);
    timer = undefined;
    const group = gathering.filter((c) => !c.done);
    gathering = [];
    if (group.length === 0) return;
    const calls = new Map(group.map((c) => [c.customId, c]));
    try {
      const jsonl = group.map((c) => JSON.stringify({ custom_id: c.customId, method: "POST", url: "/v1/chat/completions", body: chatCompletionBody(settings, c.request) })).join("\n");
      const file = await client.files.create({ file: await toFile(Buffer.from(`${jsonl}\n`), "escalations.jsonl"), purpose: "batch" });
      const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
      if (closed) {
        void client.batches.cancel(created.id).catch(() => undefined);
        for (const call of calls.values()) call.reject(new FrontierError("aborted", `${name}: the server is stopping`));
        return;
      }
      for (const call of calls.values()) call.batchId = created.id;
      open.set(created.id, calls);
      watch(created.id, calls);
    } catch (error) {
      const failure = sdkError(error);
      for (const call of calls.values()) call.reject(failure);
    }
  };

  return {
    name,
    kind: "openai",
    model: settings.model,
    call(request, { signal }) {
      if (closed) return Promise.reject(new FrontierError("aborted", `${name}: the server is stopping`));
      return new Promise<FrontierReply>((resolve, reject) => {
        const call: Waiting = {
          customId: `call-${randomUUID()}`,
          request,
          done: false,
          resolve: (reply) => {
            if (call.done) return;
            call.done = true;
            signal.removeEventListener("abort", onAbort);
            resolve(reply);
          },
          reject: (error) => {
            if (call.done) return;
            call.done = true;
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        };
        // Gone before it was sent, it is left out; sent, its answer is not waited for (the provider may bill it), and a
        // provider batch nobody waits for any more is cancelled.
        const onAbort = () => {
          call.reject(new FrontierError("aborted", `${name}: the caller went away`));
          const calls = call.batchId !== undefined ? open.get(call.batchId) : undefined;
          if (calls && [...calls.values()].every((c) => c.done)) {
            open.delete(call.batchId!);
            void client.batches.cancel(call.batchId!).catch(() => undefined);
          }
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        gathering.push(call);
        if (gathering.length >= batch.maxRequests) void flush();
        else timer ??= setTimeout(() => void flush(), batch.flushMs);
      });
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const poll of polls) clearTimeout(poll);
      const stopping = new FrontierError("aborted", `${name}: the server is stopping`);
      for (const call of [...gathering, ...[...open.values()].flatMap((calls) => [...calls.values()])]) call.reject(stopping);
      gathering = [];
      // Best effort: nobody waits for these answers any more.
      await Promise.allSettled([...open.keys()].map((id) => client.batches.cancel(id)));
      open.clear();
    },
  };
}
