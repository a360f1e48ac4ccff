import { setTimeout as sleep } from "node:timers/promises";
import { invalidLine, isPassing, parseLine, resultLine, type BatchEndpoint, type LineResult } from "./batch-lines.js";

/** Lines a resumed job has already answered, read back from its output and error files. */
export interface AnsweredLines {
  /** custom_ids that got a response (in the output or the error file). */
  customIds: Set<string>;
  /** Input line numbers reported as invalid (those may have no custom_id). */
  lineNumbers: Set<number>;
  completed: number;
  failed: number;
}

export function noneAnswered(): AnsweredLines {
  return { customIds: new Set(), lineNumbers: new Set(), completed: 0, failed: 0 };
}

/** Reads what the output and error lines of an interrupted job say was already answered. */
export function answeredFrom(outputLines: string[], errorLines: string[]): AnsweredLines {
  const answered = noneAnswered();
  const note = (text: string, inErrorFile: boolean) => {
    const line = JSON.parse(text) as { custom_id: string | null; response: unknown; error: { line?: number } | null };
    if (line.response !== null && line.custom_id !== null) answered.customIds.add(line.custom_id);
    else if (typeof line.error?.line === "number") answered.lineNumbers.add(line.error.line);
    if (inErrorFile) answered.failed++;
    else answered.completed++;
  };
  for (const text of outputLines) note(text, false);
  for (const text of errorLines) note(text, true);
  return answered;
}

export interface JobOptions {
  endpoint: BatchEndpoint;
  /** Prefix of each line's request id (in logs and ledger rows): `<prefix>/<line number>`. */
  requestIdPrefix: string;
  linesInFlight: number;
  lineRetries: number;
  execute(body: unknown, requestId: string): Promise<LineResult>;
  /** Appends a line to the output file (2xx answers) or to the error file (the rest). */
  write(line: string, toErrors: boolean): Promise<void>;
  /** Checked before each new line and retry: cancelled, expired or shutting down. */
  stopped(): boolean;
  onProgress?(counts: { completed: number; failed: number }): void;
}

const retryDelayMs = (attempt: number) => Math.min(30_000, 250 * 2 ** attempt);

/**
 * Runs the lines of a batch input, `linesInFlight` at a time, skipping those already answered, and writes each
 * answer as one line. A line that fails for a passing reason is tried again; a line left unanswered when the job
 * stops (a cancel, a shutdown) is not written, so a resumed job runs it. Ends when every line ran or the job stopped.
 */
export async function runJob(input: AsyncIterable<{ text: string; number: number }>, answered: AnsweredLines, options: JobOptions): Promise<{ completed: number; failed: number; stoppedEarly: boolean }> {
  let { completed, failed } = answered;
  const seen = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const record = async (line: string, toErrors: boolean) => {
    await options.write(line, toErrors);
    if (toErrors) failed++;
    else completed++;
    options.onProgress?.({ completed, failed });
  };
  const runOne = async (customId: string, body: unknown, requestId: string) => {
    for (let attempt = 0; ; attempt++) {
      const result = await options.execute(body, requestId);
      if (isPassing(result) && (options.stopped() || attempt < options.lineRetries)) {
        if (options.stopped()) return;
        await sleep(retryDelayMs(attempt));
        continue;
      }
      await record(resultLine(customId, requestId, result), result.statusCode >= 300);
      return;
    }
  };

  let stoppedEarly = false;
  for await (const line of input) {
    const parsed = parseLine(line.text, options.endpoint);
    if (answered.lineNumbers.has(line.number)) continue;
    if (parsed.ok && seen.has(parsed.customId)) {
      await record(invalidLine(parsed.customId, line.number, "duplicate_custom_id", `custom_id '${parsed.customId}' appears on an earlier line`), true);
      continue;
    }
    if (!parsed.ok) {
      await record(invalidLine(parsed.customId, line.number, parsed.code, parsed.message), true);
      continue;
    }
    seen.add(parsed.customId);
    if (answered.customIds.has(parsed.customId)) continue;
    if (options.stopped()) {
      stoppedEarly = true;
      break;
    }
    while (inFlight.size >= options.linesInFlight) await Promise.race(inFlight);
    const task: Promise<void> = runOne(parsed.customId, parsed.body, `${options.requestIdPrefix}/${line.number}`).finally(() => inFlight.delete(task));
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  return { completed, failed, stoppedEarly: stoppedEarly || options.stopped() };
}
