import { performance } from "node:perf_hooks";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { fastBertEncoder } from "../../server/backends/onnx/fast-bert-encoder.js";
import { median } from "../load/median.js";

export interface TokenizeRound {
  libraryMs: number;
  fastMs: number;
}

export interface TokenizeBenchResult {
  texts: number;
  characters: number;
  /** Texts whose ids differ between the two (must be 0). */
  differing: number;
  rounds: TokenizeRound[];
  medianMs: { library: number; fast: number };
  speedup: number;
}

/**
 * transformers.js's tokenizer against the BERT fast path on the same texts, one thread, alternated rounds (each
 * round makes a new fast encoder, whose memory of chunks starts empty as in a fresh worker: its first pass counts).
 */
export function runTokenizeBench(library: PreTrainedTokenizer, texts: string[], rounds: number): TokenizeBenchResult {
  const reference = texts.map((t) => library.encode(t));
  let differing = 0;
  const check = fastBertEncoder(library);
  if (!check) throw new Error("the tokenizer is not of the BERT family: no fast path to measure");
  texts.forEach((t, i) => {
    const ids = check(t) ?? library.encode(t);
    if (ids.length !== reference[i]!.length || ids.some((id, k) => id !== reference[i]![k])) differing++;
  });
  const results: TokenizeRound[] = [];
  for (let round = 0; round < rounds; round++) {
    let t0 = performance.now();
    for (const t of texts) library.encode(t);
    const libraryMs = performance.now() - t0;
    const fast = fastBertEncoder(library)!;
    t0 = performance.now();
    for (const t of texts) fast(t) ?? library.encode(t);
    results.push({ libraryMs, fastMs: performance.now() - t0 });
  }
  const medianMs = { library: median(results.map((r) => r.libraryMs)), fast: median(results.map((r) => r.fastMs)) };
  return { texts: texts.length, characters: texts.reduce((n, t) => n + t.length, 0), differing, rounds: results, medianMs, speedup: medianMs.library / medianMs.fast };
}
