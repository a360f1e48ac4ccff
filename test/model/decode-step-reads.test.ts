import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseDecodeReadsTogether } from "../../server/backends/gguf/decode-step-reads.js";
import { llamaRuntime } from "../../server/backends/gguf/llama-runtime.js";
import { generateOnSequence } from "../../server/backends/gguf/sequence-generation.js";
import { serializeLogitReads } from "../../server/backends/gguf/serial-logit-reads.js";

const MODEL = new URL("../../models/email-spam-llama/1/model.gguf", import.meta.url).pathname;
let model: LlamaModel;
let context: LlamaContext;
/** Each decode: how many tokens of each sequence (by id) it held. */
const decodes: Array<Map<number, number>> = [];

beforeAll(async () => {
  const { llama } = await llamaRuntime("cpu", 1);
  model = await llama.loadModel({ modelPath: MODEL });
  context = await model.createContext({ sequences: 4, contextSize: 4 * 256, threads: 1 });
  serializeLogitReads(context);
  releaseDecodeReadsTogether(context);
  // Records what each decode holds, around the wrappers the server uses.
  const native = (context as unknown as { _ctx: Record<string, (...args: unknown[]) => unknown> })._ctx;
  const add = native.addToBatch!;
  const decode = native.decodeBatch!;
  let batch = new Map<number, number>();
  Object.defineProperty(native, "addToBatch", { value: (...args: unknown[]) => (batch.set(args[0] as number, (args[2] as Uint32Array).length), add.apply(native, args)) });
  Object.defineProperty(native, "decodeBatch", { value: (...args: unknown[]) => (decodes.push(batch), (batch = new Map()), decode.apply(native, args)) });
});

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
});

const idOf = (sequence: LlamaContextSequence) => (sequence as unknown as { _sequenceId: number })._sequenceId;

describe("a decode's sampled tokens handed out together", () => {
  // Regression: node-llama-cpp decoded again as soon as some sequences had queued their next token, so each step held
  // 3 of 4 sequences, and a sequence starting a new request waited (on the context lock) until the others finished.
  it("puts every generating sequence in every step, and lets a new request's prompt in between steps", async () => {
    const prompt = (text: string): Token[] => [...(model.tokens.bos !== null ? [model.tokens.bos] : []), ...model.tokenize(`User: ${text}\nAssistant:`)];
    const sequences = Array.from({ length: 4 }, () => context.getSequence());
    const [a, ...others] = sequences as [LlamaContextSequence, ...LlamaContextSequence[]];
    const run = (sequence: LlamaContextSequence, text: string, maxTokens: number) =>
      generateOnSequence(model, sequence, prompt(text), { maxTokens, temperature: 0, stop: [], signal: new AbortController().signal });
    let secondPromptAt = -1;
    const long = others.map((s, i) => run(s, `Is this email spam or ham? Offer number ${i} for you.`, 48));
    const short = (async () => {
      await run(a, "Is this email spam or ham? The report is attached.", 2);
      secondPromptAt = decodes.length;
      // A different prompt: what the sequence held must be erased first.
      return run(a, "Something else entirely, and rather longer than before.", 2);
    })();
    const answers = await Promise.all([...long, short]);
    expect(answers.slice(0, 3).every((r) => r.generated === 48)).toBe(true);

    const ids = others.map(idOf);
    const lastOfOthers = Math.max(...decodes.map((d, i) => (ids.some((id) => d.has(id)) ? i : -1)));
    const aPrompt = decodes.findIndex((d, i) => i >= secondPromptAt && (d.get(idOf(a)) ?? 0) > 1);
    expect(aPrompt).toBeGreaterThan(-1);
    // The new prompt got in within a couple of steps, long before the others' 48 tokens were done.
    expect(aPrompt - secondPromptAt).toBeLessThanOrEqual(3);
    expect(aPrompt).toBeLessThan(lastOfOthers - 20);
    // Steps while all three long generations ran: each held all three.
    const steps = decodes.slice(0, lastOfOthers - 5).filter((d) => ids.some((id) => d.get(id) === 1) && [...d.values()].every((n) => n === 1));
    const full = steps.filter((d) => ids.every((id) => d.get(id) === 1));
    expect(steps.length).toBeGreaterThan(30);
    expect(full.length / steps.length).toBeGreaterThan(0.9);
  }, 60_000);
});
