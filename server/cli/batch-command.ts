import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import OpenAI, { toFile } from "openai";
import type { Tenant, TenantDirectory } from "../auth/tenants.js";
import { answeredFrom, runJob, type AnsweredLines } from "../batch/batch-job.js";
import { BATCH_ENDPOINTS, executeLine, parseLine, type BatchEndpoint } from "../batch/batch-lines.js";
import { completeLines, countJsonlLines, jsonlLines, lineAppender, type LineAppender } from "../batch/jsonl-file.js";
import { loadConfig } from "../config/load-config.js";
import { ServingError } from "../errors/registry.js";
import { ServingMetrics } from "../metrics/serving-metrics.js";
import { createServingCore } from "../serving/serving-core.js";

interface BatchFlags {
  output: string;
  errors?: string;
  endpoint?: string;
  config?: string;
  repository?: string;
  model?: string[];
  tenant?: string;
  url?: string;
  apiKey?: string;
  linesInFlight?: string;
  progress: boolean;
}

/** The endpoint every line names (the first line with a `url` decides); /v1/classify for a file without one. */
async function endpointOf(input: string, flag: string | undefined): Promise<BatchEndpoint> {
  const named = flag ?? (await firstUrl(input));
  if (named === undefined) return "/v1/classify";
  if (!(BATCH_ENDPOINTS as readonly string[]).includes(named)) throw new ServingError("ERR_INVALID_REQUEST", `--endpoint: '${named}' is not one of ${BATCH_ENDPOINTS.join(", ")}`);
  return named as BatchEndpoint;
}

async function firstUrl(input: string): Promise<string | undefined> {
  for await (const line of jsonlLines(input)) {
    try {
      const url = (JSON.parse(line.text) as { url?: unknown }).url;
      if (typeof url === "string") return url;
    } catch {
      // a malformed line is reported when the job reaches it
    }
  }
  return undefined;
}

/** A bar on a terminal, a line every few seconds otherwise, nothing with --no-progress. */
function progress(enabled: boolean, total: number, start: number) {
  if (!enabled) return { update: (_done: number) => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ format: "batch [{bar}] {value}/{total} lines, {eta_formatted} left", stream: process.stderr }, cliProgress.Presets.shades_classic);
    bar.start(total, start);
    return { update: (done: number) => bar.update(done), stop: () => bar.stop() };
  }
  let last = 0;
  return {
    update: (done: number) => {
      if (performance.now() - last < 5_000) return;
      last = performance.now();
      console.error(`batch: ${done}/${total} lines`);
    },
    stop: () => {},
  };
}

/** Output and error files opened for appending; the error file only once there is an error to write. */
async function appenders(output: string, errors: string) {
  const out = await lineAppender(output);
  let err: Promise<LineAppender> | undefined;
  return {
    write: async (line: string, toErrors: boolean) => (toErrors ? (await (err ??= lineAppender(errors))).append(line) : out.append(line)),
    close: async () => {
      await out.close();
      await (await err)?.close();
    },
  };
}

/** Lines a previous run already answered, so this one skips them. */
async function answeredBefore(output: string, errors: string): Promise<AnsweredLines> {
  return answeredFrom(await completeLines(output), await completeLines(errors));
}

async function runLocally(input: string, flags: BatchFlags, endpoint: BatchEndpoint, errorsPath: string): Promise<{ completed: number; failed: number }> {
  const config = loadConfig({
    file: flags.config,
    overrides: {
      server: { logLevel: "warn" },
      ...(flags.repository !== undefined || flags.model !== undefined
        ? { models: { ...(flags.repository !== undefined ? { repository: flags.repository } : {}), ...(flags.model !== undefined ? { serve: flags.model } : {}) } }
        : {}),
    },
  });
  const log = (level: string, message: string) => {
    if (level === "warn" || level === "error") console.error(`${level}: ${message}`);
  };
  const metrics = new ServingMetrics({ defaultMetrics: false });
  const core = await createServingCore(config, metrics, log);
  const { registry } = core;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    console.error("batch: stopping after the lines in flight; run the same command again to resume");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const tenant = tenantFor(core.tenants, flags.tenant);
    const answered = await answeredBefore(flags.output, errorsPath);
    const total = await countJsonlLines(input);
    const bar = progress(flags.progress, total, answered.completed + answered.failed);
    const files = await appenders(flags.output, errorsPath);
    try {
      const caller = (requestId: string) => ({ tenant, requestId, signal: new AbortController().signal, arrived: performance.now(), priority: "background" as const, deadlineMs: config.batch.lineDeadlineMs });
      return await runJob(jsonlLines(input), answered, {
        endpoint,
        requestIdPrefix: "cli",
        linesInFlight: flags.linesInFlight !== undefined ? Number(flags.linesInFlight) : config.batch.linesInFlight,
        lineRetries: config.batch.lineRetries,
        execute: (body, requestId) => executeLine(core, endpoint, body, caller(requestId)),
        write: files.write,
        stopped: () => interrupted,
        onProgress: ({ completed, failed }) => bar.update(completed + failed),
      });
    } finally {
      bar.stop();
      await files.close();
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await core.close();
    await registry.dispose();
  }
}

function tenantFor(tenants: TenantDirectory, id: string | undefined): Tenant {
  if (id !== undefined) {
    const tenant = tenants.get(id);
    if (!tenant) throw new ServingError("ERR_CONFIG_INVALID", `--tenant: no tenant '${id}' in auth.tenants`);
    return tenant;
  }
  if (tenants.open) return tenants.list()[0]!;
  throw new ServingError("ERR_CONFIG_INVALID", "--tenant: the configuration has tenants; say whose budget and records the batch uses");
}

/** The same job on a running server, through its Batch API: the lines not yet answered are uploaded as one batch. */
async function runRemotely(input: string, flags: BatchFlags, endpoint: BatchEndpoint, errorsPath: string): Promise<{ completed: number; failed: number }> {
  const client = new OpenAI({ baseURL: `${flags.url!.replace(/\/$/, "")}/v1`, apiKey: flags.apiKey ?? process.env.SPECIALIST_API_KEY ?? "local", maxRetries: 2 });
  const answered = await answeredBefore(flags.output, errorsPath);
  const remaining: string[] = [];
  let total = 0;
  for await (const line of jsonlLines(input)) {
    total++;
    const parsed = parseLine(line.text, endpoint);
    if (answered.lineNumbers.has(line.number) || (parsed.ok && answered.customIds.has(parsed.customId))) continue;
    remaining.push(line.text);
  }
  const files = await appenders(flags.output, errorsPath);
  let { completed, failed } = answered;
  try {
    if (remaining.length === 0) return { completed, failed };
    const file = await client.files.create({ file: await toFile(Buffer.from(`${remaining.join("\n")}\n`), "batch.jsonl"), purpose: "batch" });
    let batch = await client.batches.create({ input_file_id: file.id, endpoint: endpoint as "/v1/chat/completions", completion_window: "24h" });
    const bar = progress(flags.progress, total, completed + failed);
    let cancelled = false;
    const onSignal = () => {
      cancelled = true;
      void client.batches.cancel(batch.id).catch(() => undefined);
      console.error("batch: cancelling; what the server answered is kept and the rest runs next time");
    };
    process.once("SIGINT", onSignal);
    try {
      while (!["completed", "failed", "expired", "cancelled"].includes(batch.status)) {
        await sleep(500);
        batch = await client.batches.retrieve(batch.id);
        bar.update(completed + failed + (batch.request_counts?.completed ?? 0) + (batch.request_counts?.failed ?? 0));
      }
    } finally {
      bar.stop();
      process.off("SIGINT", onSignal);
    }
    for (const [id, toErrors] of [[batch.output_file_id, false], [batch.error_file_id, true]] as const) {
      if (!id) continue;
      for (const line of (await (await client.files.content(id)).text()).split("\n").filter(Boolean)) {
        await files.write(line, toErrors);
        if (toErrors) failed++;
        else completed++;
      }
    }
    if (batch.status === "failed") throw new ServingError("ERR_INTERNAL", `batch ${batch.id} failed: ${JSON.stringify(batch.errors?.data ?? [])}`);
    if (cancelled) console.error(`batch: ${batch.id} cancelled`);
    return { completed, failed };
  } finally {
    await files.close();
  }
}

export function registerBatch(program: Command): void {
  program
    .command("batch")
    .description("Run a JSONL file of requests (OpenAI Batch format) through the models: here, or on a server with --url. Resumable: lines already in the output are skipped.")
    .argument("<input>", "JSONL: one {custom_id, method: POST, url, body} per line")
    .requiredOption("-o, --output <file>", "answers, one JSONL line per request (appended)")
    .option("--errors <file>", "lines that failed (default: <output>.errors.jsonl)")
    .option("--endpoint <path>", `${BATCH_ENDPOINTS.join(", ")} (default: the first line's url)`)
    .option("-c, --config <file>", "server configuration for the models, escalation and ledger (default: $SPECIALIST_CONFIG)")
    .option("--repository <dir>", "model repository folder (default ./models)")
    .option("-m, --model <name...>", "load only these models")
    .option("--tenant <id>", "whose budget and records the escalations use (needed when the configuration has tenants)")
    .option("--url <url>", "run on this server's Batch API instead of loading the models here")
    .option("--api-key <key>", "the server's API key with --url (default: $SPECIALIST_API_KEY)")
    .option("--lines-in-flight <n>", "lines run at once (default: batch.linesInFlight)")
    .option("--no-progress", "no progress bar")
    .action(async (input: string, flags: BatchFlags) => {
      const started = performance.now();
      const endpoint = await endpointOf(input, flags.endpoint);
      const errorsPath = flags.errors ?? `${flags.output.replace(/\.jsonl$/, "")}.errors.jsonl`;
      const result = flags.url ? await runRemotely(input, flags, endpoint, errorsPath) : await runLocally(input, flags, endpoint, errorsPath);
      const seconds = (performance.now() - started) / 1000;
      console.error(`batch: ${result.completed} answered, ${result.failed} failed (${errorsPath}) in ${seconds.toFixed(1)} s`);
    });
}
