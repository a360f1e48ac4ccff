import { createRng, gaussian } from "../random.js";
import type { ByteBpe } from "./byte-bpe.js";
import { type GgufTensor, type GgufValue } from "./gguf-writer.js";

/** A llama-architecture model as llama.cpp reads it (see the shared notes on GGUF). */
export interface LlamaShape {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  context: number;
  ropeBase: number;
  rmsEps: number;
}

export const SPECIAL_TOKENS = { bos: "<s>", eos: "</s>" } as const;

/** Token strings in id order: BOS, EOS, then the byte-level BPE tokens. */
export function vocabularyOf(bpe: ByteBpe): string[] {
  return [SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos, ...bpe.tokens];
}

export function llamaMetadata(shape: LlamaShape, name: string, bpe: ByteBpe): Record<string, GgufValue> {
  const tokens = vocabularyOf(bpe);
  if (tokens.length !== shape.vocab) throw new Error(`shape.vocab ${shape.vocab} but the tokenizer has ${tokens.length} tokens`);
  const headDim = shape.dim / shape.heads;
  return {
    "general.architecture": { type: "string", value: "llama" },
    "general.name": { type: "string", value: name },
    "general.file_type": { type: "u32", value: 0 },
    "general.alignment": { type: "u32", value: 32 },
    "llama.vocab_size": { type: "u32", value: shape.vocab },
    "llama.context_length": { type: "u32", value: shape.context },
    "llama.embedding_length": { type: "u32", value: shape.dim },
    "llama.block_count": { type: "u32", value: shape.layers },
    "llama.feed_forward_length": { type: "u32", value: shape.ffn },
    "llama.attention.head_count": { type: "u32", value: shape.heads },
    "llama.attention.head_count_kv": { type: "u32", value: shape.kvHeads },
    "llama.rope.dimension_count": { type: "u32", value: headDim },
    "llama.attention.layer_norm_rms_epsilon": { type: "f32", value: shape.rmsEps },
    "llama.rope.freq_base": { type: "f32", value: shape.ropeBase },
    "tokenizer.ggml.model": { type: "string", value: "gpt2" },
    "tokenizer.ggml.pre": { type: "string", value: "default" },
    "tokenizer.ggml.tokens": { type: "string[]", value: tokens },
    "tokenizer.ggml.token_type": { type: "i32[]", value: tokens.map((_, i) => (i < 2 ? 3 : 1)) },
    "tokenizer.ggml.merges": { type: "string[]", value: bpe.merges },
    "tokenizer.ggml.bos_token_id": { type: "u32", value: 0 },
    "tokenizer.ggml.eos_token_id": { type: "u32", value: 1 },
    "tokenizer.ggml.add_bos_token": { type: "bool", value: true },
    "tokenizer.ggml.add_eos_token": { type: "bool", value: false },
  };
}

/** Tensor names and ggml dims ([in, out]) of every weight, in file order. */
export function llamaTensorShapes(shape: LlamaShape): Array<{ name: string; dims: number[] }> {
  const kv = (shape.dim / shape.heads) * shape.kvHeads;
  const list = [{ name: "token_embd.weight", dims: [shape.dim, shape.vocab] }];
  for (let l = 0; l < shape.layers; l++) {
    const p = `blk.${l}.`;
    list.push(
      { name: `${p}attn_norm.weight`, dims: [shape.dim] },
      { name: `${p}attn_q.weight`, dims: [shape.dim, shape.dim] },
      { name: `${p}attn_k.weight`, dims: [shape.dim, kv] },
      { name: `${p}attn_v.weight`, dims: [shape.dim, kv] },
      { name: `${p}attn_output.weight`, dims: [shape.dim, shape.dim] },
      { name: `${p}ffn_norm.weight`, dims: [shape.dim] },
      { name: `${p}ffn_gate.weight`, dims: [shape.dim, shape.ffn] },
      { name: `${p}ffn_up.weight`, dims: [shape.dim, shape.ffn] },
      { name: `${p}ffn_down.weight`, dims: [shape.ffn, shape.dim] },
    );
  }
  list.push({ name: "output_norm.weight", dims: [shape.dim] }, { name: "output.weight", dims: [shape.dim, shape.vocab] });
  return list;
}

/** Small random weights (norms at 1): a file that loads, for tokenizing before the real weights exist. */
export function randomLlamaTensors(shape: LlamaShape, seed: number): GgufTensor[] {
  const rng = createRng(seed);
  return llamaTensorShapes(shape).map(({ name, dims }) => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (name.endsWith("norm.weight")) data.fill(1);
    else for (let i = 0; i < data.length; i++) data[i] = gaussian(rng) * 0.02;
    return { name, dims, data };
  });
}
