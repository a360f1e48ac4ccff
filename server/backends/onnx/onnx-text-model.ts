import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { ServingError } from "../../errors/registry.js";
import type { ModelManifest } from "../../models/manifest.js";
import { outputHead, type OutputHead } from "./output-heads.js";
import { encodeBatch, type EncodeLimits } from "./encode-batch.js";
import { openSession, ort, type OpenedSession, type SessionPlacement } from "./session.js";
import { modelTokenLimit } from "./position-limit.js";
import { loadLocalTokenizer } from "./tokenizer.js";

export interface RawOutput {
  /** batch × width, row-major: a classifier's logits, or an embedding model's vectors. */
  values: Float32Array;
  width: number;
  tokens: number[];
  truncated: boolean[];
  tokenizeMs: number;
  inferenceMs: number;
}

type IdType = "int64" | "int32";
const FED = ["input_ids", "attention_mask", "token_type_ids"];

/**
 * The graph's own inputs and their integer types: input_ids and attention_mask are required, token_type_ids is fed
 * when the graph takes it (all zeros), int64 (the exporters' default) or int32 as the graph declares.
 */
function idInputTypes(model: string, session: ort.InferenceSession): Map<string, IdType> {
  const types = new Map<string, IdType>();
  for (const meta of session.inputMetadata) {
    if (!FED.includes(meta.name)) {
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${model}: model.onnx needs input '${meta.name}', which the server does not feed (it feeds ${FED.join(", ")})`);
    }
    const type = meta.isTensor ? meta.type : "not a tensor";
    if (type !== "int64" && type !== "int32") throw new ServingError("ERR_MODEL_LOAD_FAILED", `${model}: model.onnx input '${meta.name}' is ${type}; int64 or int32 is expected`);
    types.set(meta.name, type);
  }
  for (const required of ["input_ids", "attention_mask"]) {
    if (!types.has(required)) throw new ServingError("ERR_MODEL_LOAD_FAILED", `${model}: model.onnx has no input '${required}' (inputs: ${session.inputNames.join(", ")})`);
  }
  return types;
}

/**
 * Tokenizer + ORT session for one Hugging Face-layout text model (a classifier or an embedding model). Runs where it is created (a worker thread
 * when serving, the main thread in `eval` and training's parity check), so both paths share this code.
 */
export class OnnxTextModel {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly opened: OpenedSession,
    private readonly limits: EncodeLimits,
    private readonly head: OutputHead,
    /** Each input the graph takes (input_ids, attention_mask, token_type_ids when present) and its integer type. */
    private readonly inputTypes: Map<string, IdType>,
  ) {}

  static async load(dir: string, manifest: ModelManifest, placement: SessionPlacement): Promise<OnnxTextModel> {
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await loadLocalTokenizer(join(dir, manifest.artifacts.tokenizer));
    } catch (cause) {
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: tokenizer in ${join(dir, manifest.artifacts.tokenizer)} did not load: ${(cause as Error).message}`, { cause });
    }
    const opened = await openSession(join(dir, manifest.artifacts.model), placement);
    const { inputNames, outputNames } = opened.session;
    let inputTypes: Map<string, IdType>;
    try {
      inputTypes = idInputTypes(manifest.name, opened.session);
    } catch (error) {
      await opened.session.release();
      throw error;
    }
    const head = outputHead(manifest);
    if (!outputNames.includes(head.output)) {
      await opened.session.release();
      const setting = manifest.task === "embeddings" ? "embedding.output" : "onnx.outputName";
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: model.onnx has no output '${head.output}' (outputs: ${outputNames.join(", ")}); set ${setting} in model.json`);
    }
    // model.json's limit (default 512) never exceeds what the model was built for: a 128-position export truncates at 128.
    const ownLimit = await modelTokenLimit(dir, join(dir, manifest.artifacts.tokenizer));
    const limits = { maxTokens: Math.min(manifest.limits.maxTokens, ownLimit ?? Infinity), maxChars: manifest.limits.maxChars };
    return new OnnxTextModel(tokenizer, opened, limits, head, inputTypes);
  }

  /** Tokenizes and runs one batch: the head's numbers per input, with token counts and truncation. */
  async run(texts: string[]): Promise<RawOutput> {
    const t0 = performance.now();
    const batch = encodeBatch(this.tokenizer, texts, this.limits);
    const dims = [batch.batchSize, batch.length];
    // BERT-family exports also take segment ids; a single text is all segment 0.
    const values: Record<string, BigInt64Array> = { input_ids: batch.inputIds, attention_mask: batch.attentionMask, token_type_ids: new BigInt64Array(batch.inputIds.length) };
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, type] of this.inputTypes) {
      const data = values[name]!;
      feeds[name] = type === "int64" ? new ort.Tensor("int64", data, dims) : new ort.Tensor("int32", Int32Array.from(data, Number), dims);
    }
    const t1 = performance.now();
    const outputs = await this.opened.session.run(feeds, [this.head.output]);
    const t2 = performance.now();
    return {
      values: this.head.read(outputs[this.head.output]!, batch.attentionMask, batch.batchSize, batch.length),
      width: this.head.width,
      tokens: batch.tokens,
      truncated: batch.truncated,
      tokenizeMs: t1 - t0,
      inferenceMs: t2 - t1,
    };
  }

  async dispose(): Promise<void> {
    await this.opened.session.release();
  }
}
