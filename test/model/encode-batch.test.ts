import { resolve } from "node:path";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeBatch } from "../../server/backends/onnx/encode-batch.js";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";

let tokenizer: PreTrainedTokenizer;
let longEmails: string[];

/** The slow, obviously right answer: tokenize everything, then keep the first ids and the final special token. */
function reference(text: string, maxTokens: number, maxChars: number): { ids: number[]; truncated: boolean } {
  const cut = text.length > maxChars;
  const ids = tokenizer.encode(cut ? text.slice(0, maxChars) : text);
  if (ids.length <= maxTokens) return { ids, truncated: cut };
  return { ids: [...ids.slice(0, maxTokens - 1), ids.at(-1)!], truncated: true };
}

function rows(texts: string[], maxTokens: number, maxChars: number) {
  const batch = encodeBatch(tokenizer, texts, { maxTokens, maxChars });
  return texts.map((_, b) => ({
    ids: Array.from(batch.inputIds.subarray(b * batch.length, b * batch.length + batch.tokens[b]!), Number),
    truncated: batch.truncated[b]!,
  }));
}

beforeAll(async () => {
  tokenizer = await loadLocalTokenizer(resolve("models/email-spam/1"));
  const corpus = await loadEmailCorpus({ limitPerGroup: 400 });
  longEmails = corpus.map((e) => e.text).filter((t) => t.length > 3000).slice(0, 60);
});

describe("encodeBatch", () => {
  it("tokenizing only a prefix of long inputs gives exactly the ids of full tokenization", () => {
    expect(longEmails.length).toBeGreaterThan(20);
    for (const maxTokens of [16, 128, 512, 2048]) {
      const got = rows(longEmails, maxTokens, 100_000);
      longEmails.forEach((text, i) => expect(got[i], `email ${i}, maxTokens ${maxTokens}`).toEqual(reference(text, maxTokens, 100_000)));
    }
  });

  it("handles inputs without white space, only white space, and cut by maxChars", () => {
    const texts = ["x".repeat(50_000), " \n\t".repeat(10_000), "word ".repeat(30_000), "short text"];
    const got = rows(texts, 64, 20_000);
    texts.forEach((text, i) => expect(got[i]).toEqual(reference(text, 64, 20_000)));
    expect(got.map((r) => r.truncated)).toEqual([true, true, true, false]);
  });

  it("pads to the longest item of the batch, not to maxTokens", () => {
    const batch = encodeBatch(tokenizer, ["one two three", "one"], { maxTokens: 2048, maxChars: 100_000 });
    expect(batch.length).toBe(Math.max(...batch.tokens));
    expect(batch.length).toBeLessThan(10);
    expect(Array.from(batch.attentionMask, Number)).toEqual(
      [0, 1].flatMap((b) => Array.from({ length: batch.length }, (_, i) => (i < batch.tokens[b]! ? 1 : 0))),
    );
  });
});
