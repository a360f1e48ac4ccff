import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastBertEncoder } from "../../server/backends/onnx/fast-bert-encoder.js";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import { loadEmailCorpus } from "../../training/data/email-corpus.js";
import { createRng } from "../../training/random.js";

const BUNDLED = resolve("models/email-spam/1");
let dir: string;

/** The bundled tokenizer with its tokenizer.json changed by `edit`, loaded from a folder of its own. */
async function variant(name: string, edit: (json: Record<string, any>) => void): Promise<PreTrainedTokenizer> {
  const json = JSON.parse(await readFile(join(BUNDLED, "tokenizer.json"), "utf8")) as Record<string, any>;
  edit(json);
  const folder = join(dir, name);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder);
  await writeFile(join(folder, "tokenizer.json"), JSON.stringify(json));
  await writeFile(join(folder, "tokenizer_config.json"), await readFile(join(BUNDLED, "tokenizer_config.json")));
  return loadLocalTokenizer(folder);
}

/** Texts made to hit what normalization does beyond ASCII: accents, combining marks, CJK, final sigma, controls, surrogates. */
function awkwardTexts(count: number, seed: number): string[] {
  const pieces = [
    "Hello", "WORLD", "don't", "e-mail", "$100", "3.14", "x", "naïve", "Café", "e\u0301", "\u0301start", "中文字", "ΟΔΟΣ", "Σ", "İstanbul",
    "straße", "ﬁle", "😀", "a\u200db", "\ufffd", "\u0000", "\u000b", "\u000c", "\u00a0", "\u2003", "\u3000", "[sep]", "##ing", "—", "…",
    "\u00ad", "Ǆ", "x".repeat(120), "ab".repeat(60), "\ud800", "\ud83d", "Ⅻ", "①", "٣", "ﬀ", "µ",
  ];
  const spaces = [" ", "  ", "\t", "\n", "\r\n", "", "."];
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const parts: string[] = [];
    for (let n = 1 + Math.floor(rng() * 12); n > 0; n--) parts.push(pieces[Math.floor(rng() * pieces.length)]!, spaces[Math.floor(rng() * spaces.length)]!);
    return parts.join("");
  });
}

function expectSameIds(tokenizer: PreTrainedTokenizer, texts: string[]): number {
  const fast = fastBertEncoder(tokenizer);
  expect(fast).toBeDefined();
  let used = 0;
  for (const text of texts) {
    const ids = fast!(text);
    if (ids === undefined) continue;
    used++;
    expect(ids, JSON.stringify(text.slice(0, 200))).toEqual(tokenizer.encode(text));
  }
  return used;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fast-bert-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fastBertEncoder", () => {
  it("gives the library's ids for every email of the corpus", async () => {
    const tokenizer = await loadLocalTokenizer(BUNDLED);
    const emails = (await loadEmailCorpus()).map((e) => e.text.slice(0, 20_000));
    expect(emails.length).toBeGreaterThan(6000);
    expect(expectSameIds(tokenizer, emails)).toBe(emails.length);
  }, 120_000);

  it("gives the library's ids on text built from awkward Unicode, lowercasing and cased", async () => {
    const texts = awkwardTexts(3000, 11);
    const lowercased = await loadLocalTokenizer(BUNDLED);
    expect(expectSameIds(lowercased, texts)).toBeGreaterThan(2500);
    const cased = await variant("cased", (json) => {
      json.normalizer.lowercase = false;
    });
    expect(expectSameIds(cased, texts)).toBeGreaterThan(2500);
  });

  it("leaves a text holding an added token to the library", async () => {
    const fast = fastBertEncoder(await loadLocalTokenizer(BUNDLED))!;
    expect(fast("see [SEP] here")).toBeUndefined();
    expect(fast("see [sep] here")).toBeUndefined();
    expect(fast("see sep here")).toBeDefined();
  });

  it("declines tokenizers of other families", async () => {
    const whitespace = await variant("whitespace", (json) => {
      json.pre_tokenizer = { type: "WhitespaceSplit" };
    });
    expect(fastBertEncoder(whitespace)).toBeUndefined();
    const noNormalizer = await variant("plain", (json) => {
      json.normalizer = null;
    });
    expect(fastBertEncoder(noNormalizer)).toBeUndefined();
  });
});
