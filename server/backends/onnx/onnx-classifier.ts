import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { ServingError } from "../../errors/registry.js";
import type { ModelManifest } from "../../models/manifest.js";
import { OnnxSettings } from "./onnx-settings.js";
import { encodeBatch, type EncodeLimits } from "./encode-batch.js";
import { openSession, ort, type OpenedSession, type SessionPlacement } from "./session.js";
import { modelTokenLimit } from "./position-limit.js";
import { loadLocalTokenizer } from "./tokenizer.js";

export interface RawClassification {
  /** batch × classes, row-major. */
  logits: Float32Array;
  tokens: number[];
  truncated: boolean[];
  tokenizeMs: number;
  inferenceMs: number;
}

/**
 * Tokenizer + ORT session for one Hugging Face-layout text classifier. Runs where it is created (a worker thread
 * when serving, the main thread in `eval` and training's parity check), so both paths share this code.
 */
export class OnnxTextClassifier {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly opened: OpenedSession,
    private readonly limits: EncodeLimits,
    private readonly classes: number,
    private readonly outputName: string,
  ) {}

  static async load(dir: string, manifest: ModelManifest, placement: SessionPlacement): Promise<OnnxTextClassifier> {
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await loadLocalTokenizer(join(dir, manifest.artifacts.tokenizer));
    } catch (cause) {
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: tokenizer in ${join(dir, manifest.artifacts.tokenizer)} did not load: ${(cause as Error).message}`, { cause });
    }
    const opened = await openSession(join(dir, manifest.artifacts.model), placement);
    const { inputNames, outputNames } = opened.session;
    for (const required of ["input_ids", "attention_mask"]) {
      if (!inputNames.includes(required)) {
        await opened.session.release();
        throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: model.onnx has no input '${required}' (inputs: ${inputNames.join(", ")})`);
      }
    }
    const { outputName } = OnnxSettings.parse(manifest.backend);
    if (!outputNames.includes(outputName)) {
      await opened.session.release();
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `${manifest.name}: model.onnx has no output '${outputName}' (outputs: ${outputNames.join(", ")}); set onnx.outputName in model.json`);
    }
    // model.json's limit (default 512) never exceeds what the model was built for: a 128-position export truncates at 128.
    const ownLimit = await modelTokenLimit(dir, join(dir, manifest.artifacts.tokenizer));
    const limits = { maxTokens: Math.min(manifest.limits.maxTokens, ownLimit ?? Infinity), maxChars: manifest.limits.maxChars };
    return new OnnxTextClassifier(tokenizer, opened, limits, manifest.labels.length, outputName);
  }

  async classify(texts: string[]): Promise<RawClassification> {
    const t0 = performance.now();
    const batch = encodeBatch(this.tokenizer, texts, this.limits);
    const dims = [batch.batchSize, batch.length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", batch.inputIds, dims),
      attention_mask: new ort.Tensor("int64", batch.attentionMask, dims),
    };
    // BERT-family exports also take segment ids; a single text is all segment 0.
    if (this.opened.session.inputNames.includes("token_type_ids")) {
      feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(batch.inputIds.length), dims);
    }
    const t1 = performance.now();
    const outputs = await this.opened.session.run(feeds, [this.outputName]);
    const t2 = performance.now();
    const out = outputs[this.outputName]!;
    if (out.type !== "float32" || out.dims.length !== 2 || out.dims[1] !== this.classes || out.dims[0] !== batch.batchSize) {
      throw new ServingError("ERR_MODEL_LOAD_FAILED", `output '${this.outputName}' has type ${out.type} and shape [${out.dims.join(", ")}], expected float32 [${batch.batchSize}, ${this.classes}]`);
    }
    return {
      logits: out.data as Float32Array,
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
