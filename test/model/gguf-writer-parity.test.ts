import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaRuntime } from "../../server/backends/gguf/llama-runtime.js";
import { labelCandidates, labelLogProbabilities } from "../../server/backends/gguf/label-scorer.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { applyMerges, learnByteBpe, toByteSymbols, withSingleTokens, type ByteBpe } from "../../training/gguf/byte-bpe.js";
import { checkGgufParity } from "../../training/gguf/gguf-parity.js";
import { writeGguf, type GgufTensor } from "../../training/gguf/gguf-writer.js";
import { llamaMetadata, randomLlamaTensors, vocabularyOf, type LlamaShape } from "../../training/gguf/llama-gguf.js";
import { referenceLastLogits } from "../../training/gguf/llama-reference.js";

// A tiny random llama written by our own writer: no Python, no download, a few hundred kilobytes. Weights are
// scaled up (×3) so the logits are not all near zero; much larger, float32 rounding alone exceeds the tolerance.
let dir: string;
let path: string;
let bpe: ByteBpe;
let shape: LlamaShape;
let tensors: GgufTensor[];
let model: LlamaModel;
let texts: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gguf-"));
  path = join(dir, "tiny.gguf");
  texts = (await loadEmailCorpus({ limitPerGroup: 40 })).map((e) => e.text);
  bpe = withSingleTokens(learnByteBpe(texts, { vocabSize: 700 }), [" spam", " ham"]);
  shape = { vocab: vocabularyOf(bpe).length, dim: 32, layers: 2, heads: 4, kvHeads: 4, ffn: 64, context: 256, ropeBase: 10_000, rmsEps: 1e-5 };
  tensors = randomLlamaTensors(shape, 7).map((t) => (t.name.endsWith("norm.weight") ? t : { ...t, data: t.data.map((v) => v * 3) }));
  await writeGguf(path, llamaMetadata(shape, "tiny", bpe), tensors);
  const { llama } = await llamaRuntime("cpu", 1);
  model = await llama.loadModel({ modelPath: path });
});

afterAll(async () => {
  await model?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe("GGUF written by the project", () => {
  it("loads in llama.cpp with the tokenizer we learnt: llama.cpp splits words as our merges do", () => {
    const vocabulary = vocabularyOf(bpe);
    const ranks = new Map(bpe.merges.map((m, i) => [m, i]));
    // Digits are left out: llama.cpp's default pre-tokenizer splits numbers from their space, the learner does not.
    for (const word of [" spam", " ham", " Subject", " unsubscribe", " the", " mailing", " Zyxwv", " émails"]) {
      const ours = applyMerges(toByteSymbols(word), ranks).map((piece) => vocabulary.indexOf(piece));
      expect(Array.from(model.tokenize(word), Number), word).toEqual(ours);
    }
    expect(model.tokenize(" spam")).toHaveLength(1);
    expect(model.detokenize(model.tokenize("Hello, world: 42 émails!"))).toBe("Hello, world: 42 émails!");
  });

  it("gives the logits of the reference forward pass (the llama.cpp computation, in TypeScript)", async () => {
    const prompts = texts.slice(0, 3).map((t) => [0, ...Array.from(model.tokenize(t.slice(0, 300)), Number)].slice(0, 60));
    const spread = Math.max(...referenceLastLogits(shape, tensors, prompts[0]!).map(Math.abs));
    expect(spread).toBeGreaterThan(0.5);
    const report = await checkGgufParity(path, shape, tensors, prompts);
    expect(report.passed).toBe(true);
    expect(report.maxAbsDifference).toBeLessThan(1e-3);
  });

  it("is caught by the parity check when a tensor is stored transposed", async () => {
    const broken = tensors.map((t) => (t.name === "blk.0.attn_q.weight" ? { ...t, data: transpose(t.data, shape.dim) } : t));
    const brokenPath = join(dir, "broken.gguf");
    await writeGguf(brokenPath, llamaMetadata(shape, "broken", bpe), broken);
    const prompts = [[0, ...Array.from(model.tokenize(texts[0]!.slice(0, 200)), Number)].slice(0, 40)];
    await expect(checkGgufParity(brokenPath, shape, tensors, prompts)).rejects.toThrow(/does not match/);
  });
});

describe("label scoring", () => {
  it("scores labels of several tokens over their whole token sequence, as the reference forward pass does", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    try {
      const sequence = context.getSequence();
      const prompt = [0, ...Array.from(model.tokenize("Email:\nWin money now\nLabel:"), Number)];
      const labels = [" spam", " not spam at all", " ham"].map((text) => Array.from(model.tokenize(text), Number));
      expect(labels.map((l) => l.length)).toEqual([1, expect.any(Number), 1]);
      expect(labels[1]!.length).toBeGreaterThan(2);
      const scored = await labelLogProbabilities(sequence, prompt, labels);
      // The reference: log p(t1 | prompt) + log p(t2 | prompt t1) + …, from the TypeScript forward pass.
      const logSoftmax = (logits: Float64Array, token: number) => {
        const max = Math.max(...logits);
        const total = logits.reduce((sum, z) => sum + Math.exp(z - max), 0);
        return logits[token]! - max - Math.log(total);
      };
      const expected = labels.map((tokens) => tokens.reduce((sum, token, j) => sum + logSoftmax(referenceLastLogits(shape, tensors, [...prompt, ...tokens.slice(0, j)]), token), 0));
      scored.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 2));
      // " ham" comes after the long label and still matches the reference: the long label was erased again.
      await sequence.clearHistory();
      const again = await labelLogProbabilities(sequence, prompt, labels);
      again.forEach((value, i) => expect(value).toBeCloseTo(scored[i]!, 6));

      // Reuse: a prompt that begins as the sequence's does keeps those tokens in the KV cache, evaluates only the
      // rest, and scores as a fresh evaluation does.
      const other = [0, ...Array.from(model.tokenize("Email:\nLunch at noon tomorrow?\nLabel:"), Number)];
      const before = sequence.tokenMeter.usedInputTokens;
      const reused = await labelLogProbabilities(sequence, other, labels, true);
      const reusedCost = sequence.tokenMeter.usedInputTokens - before;
      await sequence.clearHistory();
      const start = sequence.tokenMeter.usedInputTokens;
      const fresh = await labelLogProbabilities(sequence, other, labels);
      expect(reusedCost).toBeLessThan(sequence.tokenMeter.usedInputTokens - start);
      reused.forEach((value, i) => expect(value).toBeCloseTo(fresh[i]!, 3));
    } finally {
      await context.dispose();
    }
  });

  it("reads only the labels' first tokens and still scores as the whole distribution does, up to one shared constant", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    try {
      const sequence = context.getSequence();
      const labels = [" spam", " not spam at all", " ham"].map((text) => Array.from(model.tokenize(text), Number));
      const cost = async (run: () => Promise<number[]>) => {
        await sequence.clearHistory();
        const before = sequence.tokenMeter.usedInputTokens;
        const values = await run();
        return { values, tokens: sequence.tokenMeter.usedInputTokens - before };
      };
      for (const text of ["Win money now", "Lunch at noon tomorrow?", "x"]) {
        const prompt = [0, ...Array.from(model.tokenize(`Email:\n${text}\nLabel:`), Number)];
        const exact = await cost(() => labelLogProbabilities(sequence, prompt, labels));
        const lifted = await cost(() => labelLogProbabilities(sequence, prompt, labels, false, labelCandidates(model, labels)));
        // Pushed down instead, the labels are outranked by other tokens: the whole distribution is read again, so
        // the values are the exact ones (not the -Infinity of a label missing from what was read).
        const outranked = await cost(() => labelLogProbabilities(sequence, prompt, labels, false, labelCandidates(model, labels, -100)));
        expect(lifted.tokens).toBe(exact.tokens);
        outranked.values.forEach((value, i) => expect(value).toBeCloseTo(exact.values[i]!, 6));
        const shift = lifted.values[0]! - exact.values[0]!;
        expect(shift).toBeGreaterThan(0);
        lifted.values.forEach((value, i) => expect(value - exact.values[i]!).toBeCloseTo(shift, 4));
      }
    } finally {
      await context.dispose();
    }
  });
});

function transpose(data: Float32Array, n: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) out[c * n + r] = data[r * n + c]!;
  return out;
}
