export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

const PUNCTUATION = /([\p{P}\p{S}\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e])/u;
// Same characters BERT's normaliser drops (control characters other than white space).
const CONTROL = /[\p{Cc}\p{Cf}]/gu;

/**
 * The pre-tokenisation that `BertNormalizer` (lower case, accents stripped) + `BertPreTokenizer` apply, close
 * enough to count word frequencies. The exact ids always come from the real tokenizer afterwards.
 */
export function bertWords(text: string): string[] {
  const normalised = text
    .replace(CONTROL, (c) => (c === "\t" || c === "\n" || c === "\r" ? " " : ""))
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{Mn}/gu, "");
  const words: string[] = [];
  for (const chunk of normalised.split(/\s+/)) {
    if (!chunk) continue;
    for (const part of chunk.split(PUNCTUATION)) if (part) words.push(part);
  }
  return words;
}

export interface VocabularyOptions {
  /** Largest vocabulary, special tokens included. */
  maxSize: number;
  /** A word must occur in at least this many training texts. */
  minDocuments: number;
  /** Longer words are never whole tokens (base64 debris, URLs). */
  maxWordLength: number;
}

/**
 * A word vocabulary learnt from the training texts: special tokens, then the words found in the most documents.
 * Document frequency (not raw counts) keeps one long repetitive message from filling the vocabulary.
 */
export function learnWordVocabulary(texts: string[], options: VocabularyOptions): string[] {
  const documentFrequency = new Map<string, number>();
  for (const text of texts) {
    for (const word of new Set(bertWords(text))) {
      if (word.length > options.maxWordLength) continue;
      documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1);
    }
  }
  const words = [...documentFrequency]
    .filter(([word, df]) => df >= options.minDocuments && !(SPECIAL_TOKENS as readonly string[]).includes(word))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.maxSize - SPECIAL_TOKENS.length)
    .map(([word]) => word);
  return [...SPECIAL_TOKENS, ...words];
}
