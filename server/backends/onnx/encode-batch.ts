import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { fastBertEncoder, type TextIdsEncoder } from "./fast-bert-encoder.js";

export interface EncodedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  batchSize: number;
  /** Padded length: the longest item in this batch, not the model's maximum. */
  length: number;
  tokens: number[];
  truncated: boolean[];
}

export interface EncodeLimits {
  maxTokens: number;
  maxChars: number;
}

/** First guess of characters per token when only a prefix is needed; grown ×4 when it falls short. */
const PREFIX_CHARS_PER_TOKEN = 8;

function lastWhitespaceBefore(text: string, end: number): number {
  for (let i = end; i > 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) return i;
  }
  return -1;
}

const fastEncoders = new WeakMap<PreTrainedTokenizer, TextIdsEncoder | null>();

/** The tokenizer's ids for a text, through the fast path when the tokenizer has one (it gives the same ids). */
function idsOf(tokenizer: PreTrainedTokenizer, text: string): number[] {
  let fast = fastEncoders.get(tokenizer);
  if (fast === undefined) {
    fast = fastBertEncoder(tokenizer) ?? null;
    fastEncoders.set(tokenizer, fast);
  }
  return fast?.(text) ?? tokenizer.encode(text);
}

/**
 * Token ids of `text`, or of a prefix of it when that already yields more than `maxTokens` ids: the cost of a
 * request is then bounded by the model's length, not by the characters sent (a 100,000-character email took
 * tens of milliseconds to tokenize in full, most of it thrown away). The prefix ends at white space, where
 * the normalizers and pre-tokenizers of Hugging Face tokenizers (BERT, byte-level BPE, Metaspace) split, so its
 * first tokens are those of the whole text; truncation then keeps only those.
 */
function encodeUpTo(tokenizer: PreTrainedTokenizer, text: string, maxTokens: number): number[] {
  for (let window = maxTokens * PREFIX_CHARS_PER_TOKEN; window < text.length; window *= 4) {
    const end = lastWhitespaceBefore(text, window);
    if (end <= 0) continue;
    const ids = idsOf(tokenizer, text.slice(0, end));
    if (ids.length > maxTokens) return ids;
  }
  return idsOf(tokenizer, text);
}

/**
 * Tokenizes a batch, truncates each item to `maxTokens` (keeping a final special token such as [SEP] in place,
 * which transformers.js's own truncation drops) and pads to the longest item.
 */
export function encodeBatch(tokenizer: PreTrainedTokenizer, texts: string[], limits: EncodeLimits): EncodedBatch {
  const special = new Set(tokenizer.all_special_ids);
  const rows: number[][] = [];
  const truncated: boolean[] = [];
  for (const text of texts) {
    const cut = text.length > limits.maxChars;
    let ids = encodeUpTo(tokenizer, cut ? text.slice(0, limits.maxChars) : text, limits.maxTokens);
    let short = cut;
    if (ids.length > limits.maxTokens) {
      const last = ids[ids.length - 1]!;
      ids = special.has(last) ? [...ids.slice(0, limits.maxTokens - 1), last] : ids.slice(0, limits.maxTokens);
      short = true;
    }
    rows.push(ids);
    truncated.push(short);
  }
  const length = Math.max(1, ...rows.map((r) => r.length));
  const pad = BigInt(tokenizer.pad_token_id ?? 0);
  const inputIds = new BigInt64Array(rows.length * length).fill(pad);
  const attentionMask = new BigInt64Array(rows.length * length);
  rows.forEach((ids, b) => {
    const offset = b * length;
    for (let i = 0; i < ids.length; i++) {
      inputIds[offset + i] = BigInt(ids[i]!);
      attentionMask[offset + i] = 1n;
    }
  });
  return { inputIds, attentionMask, batchSize: rows.length, length, tokens: rows.map((r) => r.length), truncated };
}
