/** The encoder `train_bert.py` builds, as config.json describes it to Hugging Face tools. */
export interface BertShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  /** Position embeddings: the most tokens an input has, [CLS] and [SEP] included. */
  positions: number;
  dropout: number;
}

export interface BertTrainingSettings {
  /** Largest WordPiece vocabulary, special tokens included. */
  vocabularySize: number;
  /** A word enters the vocabulary when this many training documents have it. */
  minDocuments: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  /** Tokens per input, [CLS] and [SEP] included; longer inputs are truncated as the server truncates them. */
  maxTokens: number;
  maxChars: number;
  epochs: number;
  /** Epochs without a better validation loss before training stops. */
  patience: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  dropout: number;
  seed: number;
  /** PyTorch's threads. */
  threads: number;
}

/**
 * 4 layers of width 256: about 4.2M parameters (17 MB as float32 ONNX) with an 8,000-word vocabulary, small enough
 * to bundle and to train on two cores from scratch, large enough that a batch costs what batching is for.
 */
export const DEFAULT_BERT_SETTINGS: BertTrainingSettings = {
  vocabularySize: 8000,
  minDocuments: 2,
  hidden: 256,
  layers: 4,
  heads: 4,
  intermediate: 512,
  maxTokens: 256,
  maxChars: 100_000,
  epochs: 6,
  patience: 2,
  batchSize: 32,
  learningRate: 5e-4,
  weightDecay: 0.01,
  dropout: 0.1,
  seed: 1,
  threads: 2,
};
