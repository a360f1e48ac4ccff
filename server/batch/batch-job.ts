import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
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
  /** Checked when a line's answer comes: a line cut short by a stop is not written, so a resumed job runs it again. */
  discard?(): boolean;
  /** Checked per window: whether to send it shortest first (default yes). */
  sortWindow?(): boolean;
  onProgress?(counts: { completed: number; failed: number }): void;
}

const YIELD_EVERY_LINES = 32;

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
      if (options.discard?.()) return;
      if (isPassing(result) && (options.stopped() || attempt < options.lineRetries)) {
        if (options.stopped()) return;
        await sleep(retryDelayMs(attempt));
        continue;
      }
      await record(resultLine(customId, requestId, result), result.statusCode >= 300);
      return;
    }
  };

  // Lines are sent in windows of `linesInFlight` sorted by length: the backend pads a batch to its longest input,
  // so neighbours of like length waste less. Answers are written as they come, keyed by custom_id as in OpenAI's
  // format. Beside interactive traffic a window goes unsorted: sorted, its longest inputs would come together and
  // hold workers interactive requests wait for (measured: interactive p99 at half load 1.7× instead of 1.0×).
  const window: Array<{ customId: string; body: unknown; requestId: string; size: number }> = [];
  let stoppedEarly = false;
  const sendWindow = async () => {
    if (options.sortWindow?.() ?? true) window.sort((a, b) => a.size - b.size);
    for (const line of window) {
      if (options.stopped()) {
        stoppedEarly = true;
        break;
      }
      while (inFlight.size >= options.linesInFlight) await Promise.race(inFlight);
      const task: Promise<void> = runOne(line.customId, line.body, line.requestId).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    window.length = 0;
  };
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
    window.push({ customId: parsed.customId, body: parsed.body, requestId: `${options.requestIdPrefix}/${line.number}`, size: line.text.length });
    if (window.length >= options.linesInFlight) await sendWindow();
    // Reading ahead runs no I/O callback of its own: give interactive requests the event loop between slices.
    else if (window.length % YIELD_EVERY_LINES === 0) await yieldToEventLoop();
    if (stoppedEarly || options.stopped()) {
      stoppedEarly = true;
      break;
    }
  }
  if (!stoppedEarly) await sendWindow();
  await Promise.all(inFlight);
  return { completed, failed, stoppedEarly: stoppedEarly || options.stopped() };
}
