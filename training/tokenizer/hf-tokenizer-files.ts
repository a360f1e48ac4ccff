import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadLocalTokenizer } from "../../server/backends/onnx/tokenizer.js";
import { learnWordVocabulary, SPECIAL_TOKENS } from "./word-vocabulary.js";

/**
 * Writes `tokenizer.json` + `tokenizer_config.json` in the Hugging Face layout (a BERT-style WordPiece tokenizer),
 * so the server tokenizes our models with the same code as any DistilBERT fine-tune.
 */
export async function writeHfTokenizer(dir: string, vocabulary: string[], modelMaxLength: number): Promise<void> {
  const vocab = Object.fromEntries(vocabulary.map((token, id) => [token, id]));
  const idOf = (token: string) => {
    const id = vocab[token];
    if (id === undefined) throw new Error(`special token ${token} missing from vocabulary`);
    return id;
  };
  const special = (token: string) => ({ SpecialToken: { id: token, type_id: 0 } });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: idOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, special("[SEP]")],
      pair: [
        special("[CLS]"),
        { Sequence: { id: "A", type_id: 0 } },
        special("[SEP]"),
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        ["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [idOf(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  const config = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: modelMaxLength,
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    mask_token: "[MASK]",
  };
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
}

/**
 * The model folder's WordPiece tokenizer, learnt from the training texts (document frequency), written in the
 * Hugging Face layout and loaded back through transformers.js, as the server will load it.
 */
export async function learnHfTokenizer(dir: string, texts: string[], options: { maxSize: number; minDocuments: number; maxTokens: number }) {
  await mkdir(dir, { recursive: true });
  const vocabulary = learnWordVocabulary(texts, { maxSize: options.maxSize, minDocuments: options.minDocuments, maxWordLength: 40 });
  await writeHfTokenizer(dir, vocabulary, options.maxTokens);
  return { vocabulary, tokenizer: await loadLocalTokenizer(dir) };
}
