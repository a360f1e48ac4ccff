import type { PreTrainedTokenizer } from "@huggingface/transformers";

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
    let ids = tokenizer.encode(cut ? text.slice(0, limits.maxChars) : text);
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
