/**
 * Byte-level BPE as GPT-2 defines it, learnt from a corpus, for GGUF's `gpt2` tokenizer model: the vocabulary is
 * the 256 byte symbols then one token per merge, and llama.cpp applies the merges in rank order.
 */

/** GPT-2's reversible map from bytes to printable characters (so tokens never hold raw control bytes). */
export function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const symbols: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) symbols.push(String.fromCodePoint(printable(b) ? b : 256 + extra++));
  return symbols;
}

/** GPT-2's pre-tokenizer: words keep their leading space, digits and punctuation runs are split off. */
const PRE_TOKENIZER = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface ByteBpe {
  /** Token strings in id order: the 256 byte symbols, then one per merge. */
  tokens: string[];
  /** "left right" in rank order. */
  merges: string[];
}

/** A max-heap of [count, pair] with lazy deletion: stale entries are skipped when popped. */
class PairHeap {
  private readonly items: Array<[number, number]> = [];
  push(count: number, pair: number): void {
    const items = this.items;
    items.push([count, pair]);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): [number, number] | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.above(items[l]!, items[best]!)) best = l;
        if (r < items.length && this.above(items[r]!, items[best]!)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
  /** Higher count first; ties by the smaller pair key, so the result does not depend on insertion order. */
  private above(a: [number, number], b: [number, number]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
}

const KEY = 1 << 16;

export function learnByteBpe(texts: string[], options: { vocabSize: number; minWordCount?: number }): ByteBpe {
  const symbols = byteSymbols();
  const tokens = [...symbols];
  const merges: string[] = [];
  if (options.vocabSize >= KEY) throw new Error("vocabulary too large for this learner");
  const encoder = new TextEncoder();

  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(PRE_TOKENIZER)) wordCounts.set(match[0], (wordCounts.get(match[0]) ?? 0) + 1);
  }
  const words: Array<{ ids: number[]; count: number }> = [];
  for (const [word, count] of wordCounts) {
    if (count < (options.minWordCount ?? 2)) continue;
    words.push({ ids: Array.from(encoder.encode(word)), count });
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const add = (pair: number, w: number, count: number) => {
    const next = (pairCounts.get(pair) ?? 0) + count;
    pairCounts.set(pair, next);
    let set = pairWords.get(pair);
    if (!set) pairWords.set(pair, (set = new Set()));
    set.add(w);
    if (next > 0) heap.push(next, pair);
  };
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.ids.length; i++) add(word.ids[i]! * KEY + word.ids[i + 1]!, w, word.count);
  });

  while (tokens.length < options.vocabSize) {
    let top = heap.pop();
    while (top && pairCounts.get(top[1]) !== top[0]) top = heap.pop();
    if (!top || top[0] < 2) break;
    const pair = top[1];
    const left = Math.floor(pair / KEY);
    const right = pair % KEY;
    const merged = tokens.length;
    tokens.push(tokens[left]! + tokens[right]!);
    merges.push(`${tokens[left]} ${tokens[right]}`);
    for (const w of pairWords.get(pair) ?? []) {
      const word = words[w]!;
      for (let i = 0; i + 1 < word.ids.length; i++) add(word.ids[i]! * KEY + word.ids[i + 1]!, w, -word.count);
      const ids: number[] = [];
      for (let i = 0; i < word.ids.length; i++) {
        if (i + 1 < word.ids.length && word.ids[i] === left && word.ids[i + 1] === right) {
          ids.push(merged);
          i++;
        } else {
          ids.push(word.ids[i]!);
        }
      }
      word.ids = ids;
      for (let i = 0; i + 1 < ids.length; i++) add(ids[i]! * KEY + ids[i + 1]!, w, word.count);
    }
    pairWords.delete(pair);
    pairCounts.delete(pair);
  }
  return { tokens, merges };
}

/** Splits one pre-tokenized word (in byte symbols) by the merges, lowest rank first, as llama.cpp does. */
export function applyMerges(word: string, ranks: Map<string, number>): string[] {
  let parts = Array.from(word);
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return parts;
    parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
  }
}

/** Text in GPT-2 byte symbols. */
export function toByteSymbols(text: string): string {
  const symbols = byteSymbols();
  return Array.from(new TextEncoder().encode(text), (b) => symbols[b]).join("");
}

/**
 * Appends merges so that each of `words` (e.g. " spam") becomes one token: after every earlier merge has run, the
 * word's remaining parts are joined left to right by merges of the lowest priority.
 */
export function withSingleTokens(bpe: ByteBpe, words: string[]): ByteBpe {
  const tokens = [...bpe.tokens];
  const merges = [...bpe.merges];
  for (const word of words) {
    const ranks = new Map(merges.map((m, i) => [m, i]));
    const parts = applyMerges(toByteSymbols(word), ranks);
    let joined = parts[0]!;
    for (const part of parts.slice(1)) {
      merges.push(`${joined} ${part}`);
      joined += part;
      if (!tokens.includes(joined)) tokens.push(joined);
    }
  }
  return { tokens, merges };
}
