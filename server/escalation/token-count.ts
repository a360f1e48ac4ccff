type Counter = (text: string) => number;

let counter: Counter | undefined;

/**
 * Loads the o200k_base tokenizer that frontier calls are counted with. Its ranks hold about 30 MB of heap and take a
 * noticeable share of start-up, so they are loaded when a frontier provider is configured, not by every server.
 */
export async function loadTokenCounter(): Promise<void> {
  counter ??= (await import("gpt-tokenizer/encoding/o200k_base")).countTokens;
}

/** Tokens of `text` as OpenAI's o200k_base counts them (an estimate for other providers). */
export function countTokens(text: string): number {
  if (!counter) throw new Error("countTokens called before loadTokenCounter(): only configured frontier providers count tokens");
  return counter(text);
}
