import type { GgufTensor } from "./gguf-writer.js";
import type { LlamaShape } from "./llama-gguf.js";

/**
 * The forward pass llama.cpp computes for a llama model, in plain TypeScript (float64), for the last position
 * only: the parity check between a trained model and the GGUF file that llama.cpp serves.
 */
export function referenceLastLogits(shape: LlamaShape, tensors: GgufTensor[], ids: number[]): Float64Array {
  const w = new Map(tensors.map((t) => [t.name, t.data]));
  const get = (name: string) => {
    const data = w.get(name);
    if (!data) throw new Error(`missing tensor ${name}`);
    return data;
  };
  const { dim, heads, ffn } = shape;
  const hd = dim / heads;
  const rms = (x: Float64Array, weight: Float32Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const scale = 1 / Math.sqrt(ss / x.length + shape.rmsEps);
    return x.map((v, i) => v * scale * weight[i]!);
  };
  // ggml [in, out] = row-major [out][in]: out[o] = sum_i W[o * in + i] * x[i]
  const matvec = (m: Float32Array, x: Float64Array, inSize: number, outSize: number) => {
    const out = new Float64Array(outSize);
    for (let o = 0; o < outSize; o++) {
      let s = 0;
      const row = o * inSize;
      for (let i = 0; i < inSize; i++) s += m[row + i]! * x[i]!;
      out[o] = s;
    }
    return out;
  };
  const rope = (v: Float64Array, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const theta = pos * Math.pow(shape.ropeBase, (-2 * i) / hd);
        const a = v[h * hd + 2 * i]!;
        const b = v[h * hd + 2 * i + 1]!;
        v[h * hd + 2 * i] = a * Math.cos(theta) - b * Math.sin(theta);
        v[h * hd + 2 * i + 1] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
    return v;
  };
  const embd = get("token_embd.weight");
  let x = ids.map((id) => Float64Array.from(embd.subarray(id * dim, (id + 1) * dim)));
  for (let l = 0; l < shape.layers; l++) {
    const p = `blk.${l}.`;
    const a = x.map((v) => rms(v, get(`${p}attn_norm.weight`)));
    const q = a.map((v, t) => rope(matvec(get(`${p}attn_q.weight`), v, dim, dim), t));
    const k = a.map((v, t) => rope(matvec(get(`${p}attn_k.weight`), v, dim, dim), t));
    const vv = a.map((v) => matvec(get(`${p}attn_v.weight`), v, dim, dim));
    x = x.map((xt, t) => {
      const y = new Float64Array(dim);
      for (let h = 0; h < heads; h++) {
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t]![h * hd + i]! * k[s]![h * hd + i]!;
          scores[s] = dot / Math.sqrt(hd);
        }
        const max = Math.max(...scores);
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += scores[s] = Math.exp(scores[s]! - max);
        for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) y[h * hd + i]! += (scores[s]! / sum) * vv[s]![h * hd + i]!;
      }
      const attn = matvec(get(`${p}attn_output.weight`), y, dim, dim);
      const h1 = xt.map((v, i) => v + attn[i]!);
      const m = rms(h1, get(`${p}ffn_norm.weight`));
      const gate = matvec(get(`${p}ffn_gate.weight`), m, dim, ffn);
      const up = matvec(get(`${p}ffn_up.weight`), m, dim, ffn);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = matvec(get(`${p}ffn_down.weight`), act, ffn, dim);
      return h1.map((v, i) => v + down[i]!);
    });
  }
  const last = rms(x[x.length - 1]!, get("output_norm.weight"));
  return matvec(get("output.weight"), last, dim, shape.vocab);
}
