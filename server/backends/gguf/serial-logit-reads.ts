import type { LlamaContext } from "node-llama-cpp";

type NativeCall = (...args: unknown[]) => Promise<unknown>;
type NativeContext = { sampleToken?: NativeCall; decodeBatch?: NativeCall };

/**
 * Makes the first read of a context's outputs after each decode finish before any other read starts. When sequences
 * of unequal length share a decode, llama.cpp reorders the output rows lazily, on the first read after the decode,
 * and node-llama-cpp (3.21) reads them from several threads at once: two first reads then swap rows twice and one
 * request gets another's answer (seen here: 2 to 4 of 197 emails classified on 4 sequences, and first tokens of
 * chat completions). Once the first read has reordered the rows, the others only look, so they run together (all
 * reads one at a time cost about a fifth of chat throughput in-process). node-llama-cpp awaits every read of a
 * decode before it starts the next one. It has no option for this, so its native context is wrapped; the version
 * is pinned, and the check below fails loudly if an upgrade renames what is wrapped.
 */
export function serializeLogitReads(context: LlamaContext): void {
  const native = (context as unknown as { _ctx?: NativeContext })._ctx;
  const read = native?.sampleToken;
  const decode = native?.decodeBatch;
  if (!native || typeof read !== "function" || typeof decode !== "function") {
    throw new Error("node-llama-cpp's context has no _ctx.sampleToken or _ctx.decodeBatch to wrap: check serial-logit-reads.ts against this node-llama-cpp version");
  }
  /** The first read since the last decode, while it runs; undefined once it has ended (rows in order). */
  let reordering: Promise<unknown> | undefined;
  let readSinceDecode = true;
  const wrap = (name: keyof NativeContext, value: NativeCall) => Object.defineProperty(native, name, { value, configurable: true });
  // The binding's methods are read-only on its prototype: own properties of this one context shadow them.
  wrap("decodeBatch", (...args) => {
    readSinceDecode = false;
    reordering = undefined;
    return decode.apply(native, args);
  });
  wrap("sampleToken", (...args) => {
    if (reordering) return reordering.then(() => read.apply(native, args));
    if (readSinceDecode) return read.apply(native, args);
    readSinceDecode = true;
    const first = read.apply(native, args);
    const settled = first.then(
      () => undefined,
      () => undefined,
    );
    reordering = settled;
    void settled.then(() => {
      if (reordering === settled) reordering = undefined;
    });
    return first;
  });
}
