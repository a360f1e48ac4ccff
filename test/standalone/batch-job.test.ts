import { describe, expect, it } from "vitest";
import { noneAnswered, runJob } from "../../server/batch/batch-job.js";

const line = (i: number, input: string) => JSON.stringify({ custom_id: `c${i}`, method: "POST", url: "/v1/classify", body: { model: "m", input } });

async function* lines(texts: string[]) {
  for (const [i, text] of texts.entries()) yield { text, number: i + 1 };
}

/** Runs the texts as a job that answers every line at once; the input lengths in the order lines were sent. */
async function sendOrder(inputs: string[], options: { sortWindow?: () => boolean; written?: string[] } = {}) {
  const sent: number[] = [];
  const result = await runJob(lines(inputs.map((input, i) => line(i, input))), noneAnswered(), {
    endpoint: "/v1/classify",
    requestIdPrefix: "job",
    linesInFlight: 5,
    lineRetries: 0,
    execute: async (body) => {
      sent.push((body as { input: string }).input.length);
      return { statusCode: 200, body: { ok: true } };
    },
    write: async (text) => void options.written?.push(text),
    stopped: () => false,
    ...(options.sortWindow ? { sortWindow: options.sortWindow } : {}),
  });
  return { sent, result };
}

describe("runJob", () => {
  it("sends each window of lines shortest first, and answers every line once", async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => "x".repeat(((i * 37) % 50) + 1));
    const written: string[] = [];
    const { sent, result } = await sendOrder(inputs, { written });
    expect(result).toEqual({ completed: 50, failed: 0, stoppedEarly: false });
    expect(new Set(written.map((w) => (JSON.parse(w) as { custom_id: string }).custom_id)).size).toBe(50);
    // Windows of linesInFlight lines, each sorted: the backend pads a batch to its longest input.
    for (let start = 0; start < 50; start += 5) {
      const window = sent.slice(start, start + 5);
      expect(window).toEqual([...window].sort((a, b) => a - b));
    }
    expect(sent).not.toEqual([...sent].sort((a, b) => a - b));
  });

  it("keeps the input order when told not to sort (interactive traffic is running)", async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => "x".repeat(((i * 7) % 20) + 1));
    const { sent } = await sendOrder(inputs, { sortWindow: () => false });
    expect(sent).toEqual(inputs.map((t) => t.length));
  });
});
